"""A tiny random BERT built offline, so that every stage can run in seconds in tests."""
from __future__ import annotations

import string
from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("a the man woman dog cat is are playing eating running guitar piano food ball on in with "
         "and of to plays eats runs park street child children two three red blue small big water").split()

SENTENCES = [
    "a man is playing a guitar", "a man plays the guitar", "a woman is eating food",
    "the woman eats", "a dog is running in the park", "two dogs run on the street",
    "a cat is playing with a ball", "the child plays the piano", "three children are eating",
    "a small red ball is in the water", "the big blue dog runs", "a woman is playing the piano",
]


def build_tiny_bert(folder: Path, seed: int = 0, hidden_size: int = 32) -> Path:
    """Write a 2-layer random BERT (32 wide by default) with a fixed word-piece vocabulary (deterministic ids)."""
    import torch

    vocab_list = SPECIALS + WORDS + list(string.ascii_lowercase) + [f"##{c}" for c in string.ascii_lowercase]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(vocab_list))}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden_size, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2 * hidden_size, max_position_embeddings=128)
    folder.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder

"""Encoders: the bi-encoder, the cross-encoder and where their weights come from."""

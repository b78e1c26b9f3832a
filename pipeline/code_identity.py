"""A stage's code identity, derived: every module of this repository its stage module can import, plus the
versions of the libraries that compute its numbers.

Found by reading import statements (module level and inside functions, so lazy imports count too), not by
importing, and closed transitively. Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first, so
those count as reached. Anything outside the repository (torch, the standard library) is left out, except
the libraries named in `LIBRARIES`, whose installed versions join the digest.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIBRARIES = ("torch", "transformers", "tokenizers")


def module_file(name: str, repo: Path = REPO) -> Path | None:
    """The source file of a repository module or package, else None (a module from outside the repository)."""
    base = repo.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]


def imported_modules(name: str, repo: Path = REPO) -> set[str]:
    """The repository modules that module `name` imports directly (with the packages that importing them runs)."""
    path = module_file(name, repo)
    if path is None:
        return set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            anchor = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from a import b` imports the module a.b when b is one, else the name b of module a
            targets = [f"{base}.{alias.name}" if module_file(f"{base}.{alias.name}", repo) else base
                       for alias in node.names]
        else:
            continue
        found.update(module for target in targets for module in _with_parents(target)
                     if module_file(module, repo) is not None)
    return found


def reachable_modules(root: str, repo: Path = REPO) -> frozenset[str]:
    """`root`, its packages and every repository module reachable from it through imports."""
    seen: set[str] = set()
    todo = [module for module in _with_parents(root) if module_file(module, repo) is not None]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imported_modules(module, repo) - seen)
    return frozenset(seen)


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in LIBRARIES}


@functools.cache
def code_digest(root: str, repo: Path = REPO) -> str:
    """Digest of the source of every module `root` reaches and of the library versions: an edit to any of them,
    or another torch, gives the stage another key."""
    digest = hashlib.sha256()
    for module in sorted(reachable_modules(root, repo)):
        source = module_file(module, repo)
        assert source is not None
        digest.update(module.encode() + b"\0" + source.read_bytes() + b"\0")
    for name, version in library_versions().items():
        digest.update(f"{name}=={version}\0".encode())
    return digest.hexdigest()[:16]

"""Stage: definition files → located YAML documents, refusing hostile input before it can bite.

Uses libyaml (through PyYAML's C parser) with YAML 1.2 resolution of our own, and ruamel.yaml's
safe loader on its C parser as the reference for what that path hands back. Every mapping and
list comes back as a `LineDict` / `LineList` that remembers its file and the line and column of
each key and item, so any later stage can point into the file. Caps run on the raw text before
the parser sees it.

caps.py holds the limits on raw text, located.py the located containers, libyaml.py the fast
reader, constructor.py the locating ruamel reader (imported only when needed), documents.py turns
text into documents or located problems, and walk.py finds and loads the files of a directory.
"""

from titan_gitops.load.caps import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    decode_definition_bytes,
    read_definition_bytes,
    scan_nesting_depth,
)
from titan_gitops.load.documents import load_yaml_bytes, load_yaml_file, load_yaml_text
from titan_gitops.load.located import LineDict, LineList, Position
from titan_gitops.load.walk import (
    INCOMPLETE_EXPORT_MARKER,
    MAX_FOLDER_DEPTH,
    PROJECT_FILE,
    YAML_SUFFIXES,
    LoadResult,
    SourceBytes,
    check_definitions_root,
    is_blank_yaml,
    list_definition_files,
    load_definition_files,
    read_definition_files,
    record_definition,
    record_source,
)

__all__ = [
    "INCOMPLETE_EXPORT_MARKER",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_FOLDER_DEPTH",
    "PROJECT_FILE",
    "YAML_SUFFIXES",
    "LineDict",
    "LineList",
    "LoadResult",
    "Position",
    "SourceBytes",
    "check_definitions_root",
    "decode_definition_bytes",
    "is_blank_yaml",
    "list_definition_files",
    "load_definition_files",
    "load_yaml_bytes",
    "load_yaml_file",
    "load_yaml_text",
    "read_definition_bytes",
    "read_definition_files",
    "record_definition",
    "record_source",
    "scan_nesting_depth",
]

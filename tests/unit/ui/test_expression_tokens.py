"""The expression editor's syntax highlighting: expression_tokens.js split in Node, as the browser runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[3] / "ui" / "components" / "expression_tokens.js"


@pytest.fixture(scope="module")
def tokenize(tmp_path_factory):
    node = shutil.which("node")
    assert node, "Node.js is needed to test the editor's JavaScript (Reflex builds the UI with it too)"
    folder = tmp_path_factory.mktemp("tokens")
    shutil.copy(SOURCE, folder / "expression_tokens.mjs")
    runner = folder / "run.mjs"
    runner.write_text('import { tokenize } from "./expression_tokens.mjs";\n'
                      'let input = ""; process.stdin.on("data", (d) => (input += d));\n'
                      'process.stdin.on("end", () => console.log(JSON.stringify(JSON.parse(input).map(tokenize))));\n')

    def run(*texts: str) -> list[list[tuple[str, str]]]:
        done = subprocess.run([node, str(runner)], input=json.dumps(texts), capture_output=True, text=True,
                              check=True, timeout=30)
        return [[(t["type"], t["text"]) for t in tokens] for tokens in json.loads(done.stdout)]

    return run


def test_text_outside_braces_is_plain_and_the_parts_inside_are_typed(tokenize):
    [tokens] = tokenize('Hi {{ $json.name.toUpperCase() + " x" }}!')
    assert tokens == [("text", "Hi "), ("brace", "{{"), ("code", " "), ("variable", "$json"), ("code", ".name."),
                      ("function", "toUpperCase"), ("code", "() + "), ("string", '" x"'), ("code", " "),
                      ("brace", "}}"), ("text", "!")]
    assert "".join(text for _, text in tokens) == 'Hi {{ $json.name.toUpperCase() + " x" }}!'


def test_node_references_numbers_keywords_and_functions(tokenize):
    [tokens] = tokenize('{{ $node["Fetch"].json.id * 2.5 if $vars.on else round(x1, 2) }}')
    kinds = [(kind, text) for kind, text in tokens if kind != "code"]
    assert kinds == [("brace", "{{"), ("variable", "$node"), ("string", '"Fetch"'), ("number", "2.5"),
                     ("keyword", "if"), ("variable", "$vars"), ("keyword", "else"), ("function", "round"),
                     ("number", "2"), ("brace", "}}")]
    assert ("number", "1") not in tokens  # the digit of a name (x1) is part of the name


def test_braces_inside_strings_and_dicts_do_not_close_the_expression(tokenize):
    [in_string, in_dict] = tokenize('{{ "a}}b" }} tail', "{{ {'k': 1}['k'] }}")
    assert in_string[-2:] == [("brace", "}}"), ("text", " tail")]
    assert ("string", '"a}}b"') in in_string
    assert [kind for kind, _ in in_dict].count("brace") == 2 and in_dict[-1] == ("brace", "}}")


def test_an_unclosed_expression_is_marked_and_plain_text_stays_one_token(tokenize):
    unclosed, plain, empty = tokenize("Total: {{ $json.price", "just text, no braces", "")
    assert unclosed[:2] == [("text", "Total: "), ("unclosed", "{{")]
    assert ("brace", "}}") not in unclosed
    assert plain == [("text", "just text, no braces")]
    assert empty == []

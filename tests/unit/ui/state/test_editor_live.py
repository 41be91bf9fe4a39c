"""The toolbar's statement of what an active workflow runs, and error texts said once."""

from ui.executions.view import error_text
from ui.state.editor import live_label


def test_the_live_version_is_named_and_so_is_the_one_being_edited():
    assert live_label(3, 3, dirty=False) == "live v3"
    assert live_label(3, 4, dirty=False) == "live v3 · editing v4"
    assert live_label(4, 4, dirty=True) == "live v4 · editing v5 (unsaved)"


def test_an_item_already_named_in_the_message_is_not_repeated():
    said = {"message": "`$json.qty` is the text \"x\" in item 0; multiplying needs numbers", "item_index": 0}
    assert error_text(said) == said["message"]
    assert error_text({"message": "refused", "item_index": 2}) == "refused (item 2)"
    assert error_text({"message": "item 12 refused", "item_index": 1}) == "item 12 refused (item 1)"

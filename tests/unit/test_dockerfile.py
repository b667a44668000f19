"""The LABEL step Lockmaster appends: one step, nothing in a value is expanded."""

from builder.dockerfile import label_instruction, with_labels


def test_all_labels_are_set_by_one_quoted_instruction():
    assert label_instruction({"b": "two words", "a": 'say "$HOME" \\ now'}) == (
        'LABEL "a"="say \\"\\$HOME\\" \\\\ now" "b"="two words"')


def test_the_step_is_appended_even_after_a_dangling_continuation():
    text = with_labels("FROM x\nRUN true \\\n", {"k": "v"})
    assert text == 'FROM x\nRUN true \nLABEL "k"="v"\n'

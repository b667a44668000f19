"""The LABEL step Lockmaster appends: one step, nothing in a value is expanded."""

from builder.dockerfile import label_instruction, split_settings, with_labels


def test_all_labels_are_set_by_one_quoted_instruction():
    assert label_instruction({"b": "two words", "a": 'say "$HOME" \\ now'}) == (
        'LABEL "a"="say \\"\\$HOME\\" \\\\ now" "b"="two words"')


def test_the_step_is_appended_even_after_a_dangling_continuation():
    text = with_labels("FROM x\nRUN true \\\n", {"k": "v"})
    assert text == 'FROM x\nRUN true \nLABEL "k"="v"\n'


def test_closing_settings_ending_with_a_cmd_are_split_off():
    text = 'FROM x\nRUN make\n# run it\nEXPOSE 80\n\nCMD ["app"]\n'
    assert split_settings(text) == ("FROM x\nRUN make\n# run it\n", ["EXPOSE 80", 'CMD ["app"]'])


def test_settings_that_cannot_be_committed_as_they_are_stay_in_the_dockerfile():
    for text in ('FROM x\nRUN make\n',                          # no closing CMD
                 'FROM x\nEXPOSE 80\n',                         # no CMD among the settings
                 'FROM x\nCMD ["$APP"]\n',                      # a variable
                 'FROM x\nRUN make \\\n  && check\nCMD ["a"] \\\n',  # a continuation
                 '# escape=`\nFROM x\nCMD ["a"]\n'):           # another escape character
        assert split_settings(text) == (text, [])


def test_a_setting_continued_from_the_line_before_is_not_split():
    text = 'FROM x\nRUN echo \\\n# a comment\nCMD ["a"]\n'
    assert split_settings(text) == (text, [])


def test_only_the_settings_after_the_last_other_instruction_are_split():
    text = 'FROM x\nCMD ["a"]\nRUN make\nWORKDIR /app\nENV A=1\nCMD ["b"]\n'
    assert split_settings(text) == ('FROM x\nCMD ["a"]\nRUN make\nWORKDIR /app\n',
                                    ["ENV A=1", 'CMD ["b"]'])

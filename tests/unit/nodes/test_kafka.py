"""The Kafka node without a broker: parameters and message bodies (the broker: tests/integration)."""

import pytest
from pydantic import ValidationError

from nodes.builtin.kafka import KafkaParameters, _value


@pytest.mark.parametrize("topic", ["", "has space", "../etc", ".", "a" * 250])
def test_bad_topic_names_are_refused(topic):
    with pytest.raises(ValidationError):
        KafkaParameters(topic=topic)


def test_the_message_is_the_item_or_the_given_value():
    item = {"json": {"a": "é", "n": 1}}
    assert _value(KafkaParameters(topic="t"), item) == '{"a":"é","n":1}'.encode()
    assert _value(KafkaParameters(topic="t", send_input_data=False, message="text"), item) == b"text"
    assert _value(KafkaParameters(topic="t", send_input_data=False, message=[1]), item) == b"[1]"

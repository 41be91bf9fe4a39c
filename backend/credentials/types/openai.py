"""An OpenAI-compatible API: an optional API key and a base URL; tested with ``GET {base}/models``.

The base URL makes it work with any server that speaks OpenAI's API: OpenAI itself, or a local one such as
Ollama (``http://127.0.0.1:11434/v1``) or llama.cpp's server (``http://127.0.0.1:8080/v1``), which need no key.
Calls go through the platform's address policy, so a local server must be on the allow list
(``LINKFLOW_HTTP_ALLOW_LIST``).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

OPENAI_API = "https://api.openai.com/v1"


class OpenAiFields(CredentialFields):
    api_key: SecretStr | None = secret(None, description="API key (sk-...); leave empty for a local server without one")
    base_url: str = Field(OPENAI_API, max_length=2000,
                          description="API base URL, e.g. http://127.0.0.1:11434/v1 for Ollama")
    organization: str = Field("", max_length=200, description="OpenAI organization id (optional)")


class OpenAi(CredentialType):
    type = "openai"
    display_name = "OpenAI-compatible API"
    description = ("An API key (optional) and base URL for OpenAI's API or a compatible server (Ollama, llama.cpp, "
                   "vLLM...). Used by the OpenAI and AI Agent nodes.")
    documentation_url = "https://platform.openai.com/docs/api-reference/authentication"
    Fields = OpenAiFields

    def inject(self, values: OpenAiFields) -> dict:
        """The headers (bearer key when set) and the base URL the OpenAI and AI Agent nodes call."""
        headers = {}
        key = values.api_key.get_secret_value() if values.api_key is not None else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if values.organization:
            headers["OpenAI-Organization"] = values.organization
        return {"headers": headers, "base_url": values.base_url.rstrip("/")}

    async def test(self, values: OpenAiFields) -> TestResult:
        url = values.base_url.rstrip("/") + "/models"
        response = await request("GET", url, headers=self.inject(values)["headers"], timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):
            return response
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict) and isinstance(answer.get("data"), list):
            names = [str(m.get("id")) for m in answer["data"][:5] if isinstance(m, dict)]
            more = "" if len(answer["data"]) <= 5 else f" and {len(answer['data']) - 5} more"
            return TestResult(True, f"{len(answer['data'])} model(s) available: {', '.join(names)}{more}")
        error = answer.get("error") if isinstance(answer, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        if message:
            hint = "; check the base URL (it usually ends in /v1)" if response.status_code == 404 else ""
            return TestResult(False, f"{shown_url(url)} answered {response.status_code}: {str(message)[:300]}{hint}")
        return TestResult(False, f"{shown_url(url)} answered {response.status_code} without an OpenAI model list; "
                                 "check the base URL (it usually ends in /v1)")

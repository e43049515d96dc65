"""The real `openai` Python client against phigate (used by tests/e2e_openai_client.rs).

Runs chat (plain and streamed) and embeddings over TLS against the demo
server, whose in-process models answer. Prints one JSON line of findings for
the Rust test to assert on; exits non-zero on any client error.

Environment: OPENAI_BASE_URL, OPENAI_API_KEY, SSL_CERT_FILE (the demo's
self-signed certificate), PHIGATE_CHAT_MODEL, PHIGATE_EMBED_MODEL.
"""

import json
import os
import ssl
import sys

import openai

# Trust exactly the demo's self-signed certificate.
tls = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
make_http = getattr(openai, "DefaultHttpx2Client", None) or openai.DefaultHttpxClient
client = openai.OpenAI(
    base_url=os.environ["OPENAI_BASE_URL"],
    api_key=os.environ["OPENAI_API_KEY"],
    default_headers={"x-purpose-of-use": "treatment"},
    http_client=make_http(verify=tls, timeout=120.0),
    max_retries=0,
)
chat_model = os.environ["PHIGATE_CHAT_MODEL"]
embed_model = os.environ["PHIGATE_EMBED_MODEL"]
out = {"openai_version": openai.__version__}

models = client.models.list()
out["models"] = sorted(m.id for m in models.data)

plain = client.chat.completions.with_raw_response.create(
    model=chat_model,
    messages=[{"role": "user", "content": "Name one primary colour."}],
    max_tokens=16,
    temperature=0,
)
out["overhead_header"] = plain.headers.get("x-phigate-overhead-ms")
completion = plain.parse()
out["plain_text"] = completion.choices[0].message.content
out["plain_finish"] = completion.choices[0].finish_reason
out["plain_usage"] = [completion.usage.prompt_tokens, completion.usage.completion_tokens]

pieces = []
stream = client.chat.completions.create(
    model=chat_model,
    messages=[{"role": "user", "content": "Count from one to five."}],
    max_tokens=24,
    temperature=0,
    stream=True,
    stream_options={"include_usage": True},
)
finish = None
usage = None
for chunk in stream:
    if chunk.usage is not None:
        usage = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
    for choice in chunk.choices:
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason
out["stream_pieces"] = len(pieces)
out["stream_text"] = "".join(pieces)
out["stream_finish"] = finish
out["stream_usage"] = usage

emb = client.embeddings.create(model=embed_model, input=["heart attack", "myocardial infarction", "parking garage"])
vectors = [d.embedding for d in emb.data]
out["embedding_dims"] = [len(v) for v in vectors]


def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5)


out["cos_related"] = cos(vectors[0], vectors[1])
out["cos_unrelated"] = cos(vectors[0], vectors[2])

try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    out["unknown_model_error"] = None
except openai.NotFoundError as e:
    out["unknown_model_error"] = e.code

print(json.dumps(out))
sys.stdout.flush()

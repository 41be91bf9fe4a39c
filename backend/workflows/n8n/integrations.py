"""Converters for n8n's integration nodes that have a LinkFlow counterpart: Postgres, Redis, S3, Send Email, Kafka,
and the Redis Trigger and Kafka Trigger; RabbitMQ and its trigger are at the end.

Same contract as ``nodes.py``: a converter returns ``Converted`` or raises ``Unsupported`` for the whole
node; ``NodeJob.value`` converts (or reports) each parameter value.
"""

from __future__ import annotations

from typing import Any

from backend.workflows.n8n.js_lexer import Unsupported
from backend.workflows.n8n.nodes import Converted, NodeJob, _no_input, _options
from backend.workflows.n8n.values import split_template


def _locator(value: Any) -> Any:
    """n8n's resource locator ``{"__rl": true, "value": "users", "mode": "list"}`` -> its value."""
    return value.get("value") if isinstance(value, dict) else value


def _query_parameters(job: NodeJob, raw: Any) -> list:
    """``options.queryReplacement``: values separated by commas, each one text or one expression."""
    if isinstance(raw, list):
        return [job.value(v, f"options.queryReplacement[{i}]") for i, v in enumerate(raw)]
    text = str(raw or "")
    expression = text.startswith("=")
    pieces, current = [], ""
    for is_expression, part in split_template(text[1:] if expression else text):
        if is_expression:
            current += "{{" + part + "}}"
            continue
        chunks = part.split(",")
        current += chunks[0]
        for chunk in chunks[1:]:
            pieces.append(current)
            current = chunk
    pieces.append(current)
    return [job.value(("=" if expression else "") + p.strip(), f"options.queryReplacement[{i}]")
            for i, p in enumerate(pieces) if p.strip()]


def _sql(lf_type: str):
    return lambda job, params, version: _sql_node(lf_type, job, params, version)


def _sql_node(lf_type: str, job: NodeJob, params: dict, version: float) -> Converted:
    operation = params.get("operation", "insert" if version < 2 else "executeQuery")
    if operation == "executeQuery":
        query = str(params.get("query", ""))
        if query.startswith("="):
            raise Unsupported("a query built by an expression is not converted; use $1, $2 and query parameters")
        return Converted(lf_type, {"operation": "execute_query", "query": query, "query_parameters":
                                      _query_parameters(job, _options(params).get("queryReplacement"))})
    columns = params.get("columns") if isinstance(params.get("columns"), dict) else {}
    if operation in ("insert", "upsert", "update"):
        if columns.get("mappingMode", "autoMapInputData") != "autoMapInputData":
            raise Unsupported("columns mapped one by one are not converted; map the input data automatically "
                              "(or add an Edit Fields node that names the fields as the columns)")
        parameters = {"operation": operation, "table": _locator(params.get("table")) or ""}
        if lf_type == "postgres":
            parameters["schema_name"] = _locator(params.get("schema")) or "public"
        if operation != "insert":
            match = columns.get("matchingColumns") or params.get("columnToMatchOn")
            parameters["match_columns"] = [match] if isinstance(match, str) else list(match or [])
        if lf_type == "mysql" and operation == "upsert":
            parameters.pop("match_columns")  # MySQL's own unique keys decide
        return Converted(lf_type, parameters)
    raise Unsupported(f"{lf_type} operation {operation!r} is not converted")


def _redis(job: NodeJob, params: dict, version: float) -> Converted:
    operation = params.get("operation", "info")
    key_type = params.get("keyType", "automatic")
    out: dict[str, Any] = {"key": job.value(params.get("key", ""), "key")}
    if operation == "get":
        kinds = {"automatic": "get", "string": "get", "hash": "hash_get_all", "list": "list_range"}
        if key_type not in kinds:
            raise Unsupported(f"getting a {key_type!r} key is not converted")
        out.update(operation=kinds[key_type], property_name=params.get("propertyName") or "propertyName")
    elif operation == "set":
        if key_type not in ("automatic", "string"):
            raise Unsupported(f"setting a {key_type!r} key is not converted")
        out.update(operation="set", value=job.value(params.get("value", ""), "value"))
        if params.get("expire") and params.get("ttl"):
            out["expire_s"] = params["ttl"]
    elif operation == "delete":
        out["operation"] = "delete"
    elif operation == "incr":  # n8n's item is then {key: the new value}, nothing else
        out.update(operation="incr", property_name=out["key"], keep_input=False)
        if params.get("expire") and params.get("ttl"):
            out["expire_s"] = params["ttl"]
    elif operation == "publish":
        out = {"operation": "publish", "key": job.value(params.get("channel", ""), "channel"),
               "value": job.value(params.get("messageData", ""), "messageData")}
    elif operation in ("push", "pop"):
        out = {"operation": operation, "key": job.value(params.get("list", ""), "list"),
               "side": "right" if params.get("tail", operation == "push") else "left"}
        if operation == "push":
            out["value"] = job.value(params.get("messageData", ""), "messageData")
        else:
            out["property_name"] = params.get("propertyName") or "propertyName"
    else:
        raise Unsupported(f"Redis operation {operation!r} is not converted")
    return Converted("redis", out)


def _s3(job: NodeJob, params: dict, version: float) -> Converted:
    if params.get("resource", "file") != "file":
        raise Unsupported(f"S3 resource {params.get('resource')!r} is not converted (files only)")
    operation = params.get("operation", "download")
    bucket = job.value(params.get("bucketName", ""), "bucketName")
    if operation == "upload":
        if not params.get("binaryData", True):
            return Converted("s3", {"operation": "put", "bucket": bucket,
                                    "key": job.value(params.get("fileName", ""), "fileName"),
                                    "text": job.value(params.get("fileContent", ""), "fileContent")})
        return Converted("s3", {"operation": "put", "bucket": bucket,
                                "key": job.value(params.get("fileName", ""), "fileName"),
                                "binary_property": params.get("binaryPropertyName") or "data"})
    if operation in ("download", "delete"):
        parameters = {"operation": "get" if operation == "download" else "delete", "bucket": bucket,
                      "key": job.value(params.get("fileKey", ""), "fileKey")}
        if operation == "download":
            parameters["binary_property"] = params.get("binaryPropertyName") or "data"
        return Converted("s3", parameters)
    if operation == "getAll":
        return Converted("s3", {"operation": "list", "bucket": bucket,
                                "prefix": job.value(_options(params).get("folderKey", ""), "options.folderKey"),
                                "limit": 100_000 if params.get("returnAll") else params.get("limit", 100)})
    raise Unsupported(f"S3 operation {operation!r} is not converted")


def _send_email(job: NodeJob, params: dict, version: float) -> Converted:
    options = _options(params)
    out = {"from_email": job.value(params.get("fromEmail", ""), "fromEmail"),
           "to_email": job.value(params.get("toEmail", ""), "toEmail"),
           "subject": job.value(params.get("subject", ""), "subject"),
           "format": params.get("emailFormat", "html" if version >= 2 else "text")}
    if out["format"] not in ("text", "html", "both"):
        raise Unsupported(f"email format {out['format']!r} is not converted")
    for n8n_name, name in (("text", "text"), ("html", "html")):
        if params.get(n8n_name):
            out[name] = job.value(params[n8n_name], n8n_name)
    for n8n_name, name in (("ccEmail", "cc"), ("bccEmail", "bcc"), ("replyTo", "reply_to"),
                           ("attachments", "attachments")):
        if options.get(n8n_name):
            out[name] = job.value(options[n8n_name], f"options.{n8n_name}")
    return Converted("send_email", out)


def _kafka(job: NodeJob, params: dict, version: float) -> Converted:
    headers = {h.get("key", ""): job.value(h.get("value", ""), f"headers.{h.get('key')}")
               for h in (params.get("headersUi") or {}).get("headerValues") or []}
    out: dict[str, Any] = {"topic": job.value(params.get("topic", ""), "topic"),
                           "send_input_data": bool(params.get("sendInputData", True)), "headers": headers}
    if not out["send_input_data"]:
        out["message"] = job.value(params.get("message", ""), "message")
    if params.get("useKey"):
        out["key"] = job.value(params.get("key", ""), "key")
    if params.get("useSchemaRegistry"):
        raise Unsupported("the schema registry (Avro) is not converted")
    return Converted("kafka", out)


def _static(params: dict, name: str, default: Any = "") -> Any:
    """A listener trigger's parameter: read once when the workflow is activated, so no expressions."""
    value = params.get(name, default)
    if isinstance(value, str) and value.startswith("="):
        raise Unsupported(f"{name} set by an expression is not converted; a trigger's {name} is a fixed value")
    return value


def _redis_trigger(job: NodeJob, params: dict, version: float) -> Converted:
    options = _options(params)
    return _no_input(Converted("redis_trigger", {"channels": str(_static(params, "channels")),
                                       "json_parse_body": bool(options.get("jsonParseBody", False)),
                                       "only_message": bool(options.get("onlyMessage", False))}))


def _kafka_trigger(job: NodeJob, params: dict, version: float) -> Converted:
    if params.get("useSchemaRegistry"):
        raise Unsupported("the schema registry (Avro) is not converted")
    options = _options(params)
    if options.get("parallelProcessing") is False:
        job.problems.append({"node": job.name, "parameter": "options.parallelProcessing", "expression": None,
                             "severity": "warning", "reason": "n8n waited for each run before the next message; "
                             "LinkFlow queues one execution per message and they may run at the same time"})
    json_parse = bool(options.get("jsonParseMessage", False))
    return _no_input(Converted("kafka_trigger", {"topic": str(_static(params, "topic")), "group_id": str(_static(params, "groupId")),
                                       "from_beginning": bool(options.get("fromBeginning", False)),
                                       "json_parse_message": json_parse,
                                       "only_message": json_parse and bool(options.get("onlyMessage", False))}))


CONVERTERS = {
    "n8n-nodes-base.redisTrigger": _redis_trigger,
    "n8n-nodes-base.kafkaTrigger": _kafka_trigger,
    "n8n-nodes-base.postgres": _sql("postgres"),
    "n8n-nodes-base.mySql": _sql("mysql"),
    "n8n-nodes-base.redis": _redis,
    "n8n-nodes-base.awsS3": _s3,
    "n8n-nodes-base.s3": _s3,
    "n8n-nodes-base.emailSend": _send_email,
    "n8n-nodes-base.kafka": _kafka,
}

CREDENTIAL_TYPES = {"postgres": ("postgres", "postgres"), "mySql": ("mysql", "mysql"), "redis": ("redis", "redis"), "aws": ("aws_s3", "aws"),
                    "s3": ("aws_s3", "aws"), "smtp": ("smtp", "smtp"), "kafka": ("kafka", "kafka")}


def _slack(job: NodeJob, params: dict, version: float) -> Converted:
    resource = params.get("resource", "message")
    operation = params.get("operation", {"message": "post", "channel": "getAll", "user": "info"}.get(resource, ""))
    channel = job.value(_locator(params.get("channelId", params.get("channel", ""))), "channelId")
    if resource == "message" and operation in ("post", "update", "delete"):
        if params.get("select", "channel") != "channel":
            raise Unsupported("sending to a user directly is not converted; use the user's DM channel id")
        out: dict[str, Any] = {"resource": "message", "operation": operation, "channel": channel}
        if operation in ("update", "delete"):
            out["ts"] = job.value(params.get("ts", ""), "ts")
        if operation != "delete":
            fields = params.get("updateFields") or {} if operation == "update" else {}
            out["text"] = job.value(fields.get("text", params.get("text", "")), "text")
        thread = (((params.get("otherOptions") or {}).get("thread_ts") or {}).get("replyValues") or {})
        if thread.get("thread_ts"):
            out["thread_ts"] = job.value(thread["thread_ts"], "otherOptions.thread_ts")
        return Converted("slack", out)
    if resource == "channel" and operation in ("getAll", "history"):
        out = {"resource": "channel", "operation": "get_all" if operation == "getAll" else "history",
               "return_all": bool(params.get("returnAll")), "limit": params.get("limit", 50)}
        if operation == "history":
            out["channel"] = channel
        return Converted("slack", out)
    if resource == "user" and operation == "info":
        return Converted("slack", {"resource": "user", "operation": "info",
                                   "user": job.value(_locator(params.get("user", "")), "user")})
    raise Unsupported(f"Slack {resource} {operation!r} is not converted")


CONVERTERS["n8n-nodes-base.slack"] = _slack
CREDENTIAL_TYPES["slackApi"] = ("slack", "slack")

from backend.workflows.n8n import saas  # noqa: E402 - GitHub, GitLab, Jira, Notion, Airtable

CONVERTERS.update(saas.CONVERTERS)
CREDENTIAL_TYPES.update(saas.CREDENTIAL_TYPES)

def _ssh(job: NodeJob, params: dict, version: float) -> Converted:
    resource = params.get("resource", "command")
    operation = params.get("operation", "execute" if resource == "command" else "upload")
    if resource == "command" and operation == "execute":
        return Converted("ssh", {"resource": "command", "operation": "execute",
                                 "command": job.value(params.get("command", ""), "command"),
                                 "cwd": job.value(params.get("cwd", "/"), "cwd")})  # n8n runs in / by default
    if resource == "file" and operation == "upload":
        out = {"resource": "file", "operation": "upload", "path": job.value(params.get("path", ""), "path"),
               "binary_property": params.get("binaryPropertyName") or "data"}
        if _options(params).get("fileName"):
            out["file_name"] = job.value(_options(params)["fileName"], "options.fileName")
        return Converted("ssh", out)
    if resource == "file" and operation == "download":
        return Converted("ssh", {"resource": "file", "operation": "download",
                                 "path": job.value(params.get("path", ""), "path"),
                                 "binary_property": params.get("binaryPropertyName") or "data"})
    raise Unsupported(f"SSH {resource} {operation!r} is not converted")


CONVERTERS["n8n-nodes-base.ssh"] = _ssh
CREDENTIAL_TYPES.update(sshPassword=("ssh", "ssh"), sshPrivateKey=("ssh", "ssh"))

def _email_read_imap(job: NodeJob, params: dict, version: float) -> Converted:
    """n8n's Email Trigger (IMAP), v1 and v2: same parameters; n8n's forceReconnect and trackLastMessageId
    have no counterpart (LinkFlow always tracks the last UID and reconnects on failures)."""
    options = _options(params)
    out: dict[str, Any] = {"mailbox": str(_static(params, "mailbox", "INBOX") or "INBOX"),
                           "post_process_action": _static(params, "postProcessAction", "read"),
                           "format": _static(params, "format", "simple"),
                           "download_attachments": bool(params.get("downloadAttachments", False)),
                           "attachment_prefix": str(params.get("dataPropertyAttachmentsPrefixName") or "attachment_")}
    if out["post_process_action"] not in ("read", "nothing"):
        raise Unsupported(f"action after reading {out['post_process_action']!r} is not converted")
    if out["format"] not in ("simple", "resolved", "raw"):
        raise Unsupported(f"email format {out['format']!r} is not converted")
    if options.get("customEmailConfig"):
        out["custom_email_config"] = str(_static(options, "customEmailConfig"))
    if options.get("allowUnauthorizedCerts"):
        job.problems.append({"node": job.name, "parameter": "options.allowUnauthorizedCerts", "expression": None,
                             "severity": "warning", "reason": "set allow_unauthorized_certs on the imap "
                             "credential instead (LinkFlow keeps it with the login)"})
    return _no_input(Converted("email_read_imap", out))


CONVERTERS["n8n-nodes-base.emailReadImap"] = _email_read_imap
CREDENTIAL_TYPES["imap"] = ("imap", "imap")

def _rabbitmq(job: NodeJob, params: dict, version: float) -> Converted:
    """n8n's RabbitMQ node (send a message); its messages become persistent (LinkFlow's default)."""
    operation = params.get("operation", "sendMessage")
    if operation != "sendMessage":
        raise Unsupported(f"RabbitMQ operation {operation!r} is not converted (LinkFlow acknowledges a trigger's "
                          "message once its execution is queued)")
    options = _options(params)
    mode = params.get("mode", "queue")
    if mode not in ("queue", "exchange"):
        raise Unsupported(f"RabbitMQ mode {mode!r} is not converted")
    out: dict[str, Any] = {"mode": mode, "durable": bool(options.get("durable", True)),
                           "auto_delete": bool(options.get("autoDelete", False)),
                           "send_input_data": bool(params.get("sendInputData", True))}
    if mode == "queue":
        out["queue"] = job.value(params.get("queue", ""), "queue")
    else:
        out.update(exchange=job.value(params.get("exchange", ""), "exchange"),
                   exchange_type=params.get("exchangeType", "fanout"),
                   routing_key=job.value(params.get("routingKey", ""), "routingKey"))
        if out["exchange_type"] not in ("direct", "fanout", "topic", "headers"):
            raise Unsupported(f"exchange type {out['exchange_type']!r} is not converted")
    if not out["send_input_data"]:
        out["message"] = job.value(params.get("message", ""), "message")
    headers = (options.get("headers") or {}).get("header") or []
    out["headers"] = {h.get("key", ""): job.value(h.get("value", ""), f"options.headers.{h.get('key')}")
                      for h in headers if h.get("key")}
    for unsupported in ("alternateExchange", "arguments", "exclusive"):
        if options.get(unsupported):
            raise Unsupported(f"option {unsupported!r} is not converted; declare the queue or exchange beforehand")
    return Converted("rabbitmq", out)


def _rabbitmq_trigger(job: NodeJob, params: dict, version: float) -> Converted:
    options = _options(params)
    if options.get("contentIsBinary"):
        raise Unsupported("binary content (contentIsBinary) is not converted; the content arrives as text")
    acknowledge = options.get("acknowledge", "immediately")
    if acknowledge == "laterMessageNode":
        raise Unsupported("acknowledging from a later RabbitMQ node is not converted; LinkFlow acknowledges a "
                          "message once its execution is queued")
    if acknowledge != "immediately":
        job.problems.append({"node": job.name, "parameter": "options.acknowledge", "expression": None,
                             "severity": "warning", "reason": "n8n acknowledged when the execution finished; "
                             "LinkFlow acknowledges once the execution is durably queued (a crash before that "
                             "redelivers the message)"})
    bindings = (options.get("binding") or {}).get("bindings") or []
    if len(bindings) > 1:
        raise Unsupported("more than one binding is not converted; bind the queue to the other exchanges beforehand")
    out: dict[str, Any] = {"queue": str(_static(params, "queue")),
                           "assert_queue": bool(options.get("assertQueue", True)),
                           "durable": bool(options.get("durable", True)),
                           "auto_delete": bool(options.get("autoDelete", False)),
                           "json_parse_body": bool(options.get("jsonParseBody", False)),
                           "only_content": bool(options.get("onlyContent", False))}
    if bindings:
        out.update(binding_exchange=str(bindings[0].get("exchange", "")),
                   binding_routing_key=str(bindings[0].get("routingKey", "")))
    parallel = options.get("parallelMessages", -1)
    if isinstance(parallel, int) and parallel > 0:
        out["prefetch"] = min(parallel, 1000)
    return _no_input(Converted("rabbitmq_trigger", out))


CONVERTERS["n8n-nodes-base.rabbitmq"] = _rabbitmq
CONVERTERS["n8n-nodes-base.rabbitmqTrigger"] = _rabbitmq_trigger
CREDENTIAL_TYPES["rabbitmq"] = ("rabbitmq", "rabbitmq")

"""Converters for n8n's Telegram, Discord, Stripe, Twilio, SendGrid, RSS Read, HubSpot and Gmail nodes.

Same contract as ``nodes.py``: a converter returns ``Converted`` or raises ``Unsupported`` for the whole node (an
operation LinkFlow's node does not have); ``NodeJob.value`` converts (or reports) each parameter value.
"""

from __future__ import annotations

from typing import Any

from backend.workflows.n8n.js_lexer import Unsupported
from backend.workflows.n8n.nodes import Converted, NodeJob, _options


def _locator(value: Any) -> Any:
    """n8n's resource locator ``{"__rl": true, "value": "123", "mode": "id"}`` -> its value."""
    return value.get("value") if isinstance(value, dict) else value


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _int(job: NodeJob, value: Any, parameter: str) -> Any:
    converted = job.value(value, parameter)
    if isinstance(converted, str) and converted.strip().lstrip("-").isdigit():
        return int(converted)
    return converted


def _telegram(job: NodeJob, params: dict, version: float) -> Converted:
    resource = params.get("resource", "message")
    operation = params.get("operation", "sendMessage" if resource == "message" else "get")
    extra = _dict(params.get("additionalFields"))
    if resource == "chat" and operation == "get":
        return Converted("telegram", {"resource": "chat", "operation": "get",
                                      "chat_id": job.value(params.get("chatId", ""), "chatId")})
    kinds = {"sendMessage": "send_message", "editMessageText": "edit_message_text", "sendPhoto": "send_photo",
             "sendDocument": "send_document"}
    if resource != "message" or operation not in kinds:
        raise Unsupported(f"Telegram {resource} {operation!r} is not converted")
    if params.get("replyMarkup", "none") != "none":
        raise Unsupported("reply keyboards built in n8n's form are not converted; set reply_markup as JSON")
    if operation == "editMessageText" and params.get("messageType", "message") != "message":
        raise Unsupported("editing an inline message is not converted")
    out: dict[str, Any] = {"resource": "message", "operation": kinds[operation],
                           "chat_id": job.value(params.get("chatId", ""), "chatId")}
    if operation in ("sendMessage", "editMessageText"):
        out["text"] = job.value(params.get("text", ""), "text")
    if operation == "editMessageText":
        out["message_id"] = _int(job, params.get("messageId", ""), "messageId")
    if operation in ("sendPhoto", "sendDocument"):
        out["binary_data"] = bool(params.get("binaryData", False))
        if out["binary_data"]:
            out["binary_property"] = params.get("binaryPropertyName") or "data"
        else:
            out["file"] = job.value(params.get("file", ""), "file")
        if extra.get("caption"):
            out["caption"] = job.value(extra["caption"], "additionalFields.caption")
    if extra.get("parse_mode"):
        out["parse_mode"] = extra["parse_mode"]
    if extra.get("disable_notification"):
        out["disable_notification"] = True
    if extra.get("disable_web_page_preview"):
        out["disable_web_page_preview"] = True
    if extra.get("reply_to_message_id"):
        out["reply_to_message_id"] = _int(job, extra["reply_to_message_id"], "additionalFields.reply_to_message_id")
    if extra.get("appendAttribution", version >= 1.1) and operation == "sendMessage":
        job.problems.append({"node": job.name, "parameter": "additionalFields.appendAttribution", "expression": None,
                             "severity": "warning", "reason": "n8n appended 'This message was sent automatically "
                             "with n8n' to the text; LinkFlow sends the text as it is"})
    return Converted("telegram", out)


def _color(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("#") and len(value) == 7:
        try:
            return int(value[1:], 16)
        except ValueError:
            return value
    return value


def _embeds(job: NodeJob, params: dict) -> list[dict]:
    embeds = []
    for i, raw in enumerate(_dict(params.get("embeds")).get("values") or []):
        where = f"embeds.values[{i}]"
        if raw.get("inputMethod", "fields") != "fields":
            raise Unsupported("embeds given as JSON are not converted; list their fields")
        embed: dict[str, Any] = {}
        for key in ("title", "description", "url", "timestamp"):
            if raw.get(key):
                embed[key] = job.value(raw[key], f"{where}.{key}")
        if raw.get("color"):
            embed["color"] = _color(job.value(raw["color"], f"{where}.color"))
        for key in ("image", "thumbnail", "video"):
            if raw.get(key):
                embed[key] = {"url": job.value(raw[key], f"{where}.{key}")}
        if raw.get("author"):
            embed["author"] = {"name": job.value(raw["author"], f"{where}.author")}
        embeds.append(embed)
    return embeds


def _discord(job: NodeJob, params: dict, version: float) -> Converted:
    if version < 2:
        raise Unsupported("Discord v1 keeps the webhook URL in the node; recreate it with a Discord webhook "
                          "credential")
    webhook = params.get("authentication", "botToken") == "webhook"
    operation = params.get("operation", "sendLegacy" if webhook else "send")
    resource = params.get("resource", "message")
    options = _options(params)
    if resource != "message" or operation not in ("send", "sendLegacy", "getAll"):
        raise Unsupported(f"Discord {resource} {operation!r} is not converted")
    if operation == "getAll":
        return Converted("discord", {"operation": "get_all", "return_all": bool(params.get("returnAll")),
                                     "limit": params.get("limit", 50),
                                     "channel_id": job.value(_locator(params.get("channelId", "")), "channelId")})
    out: dict[str, Any] = {"operation": "send", "content": job.value(params.get("content", ""), "content"),
                           "embeds": _embeds(job, params)}
    if not webhook:
        if params.get("sendTo", "channel") != "channel":
            raise Unsupported("sending to a user directly is not converted; use the DM channel's id")
        out["channel_id"] = job.value(_locator(params.get("channelId", "")), "channelId")
    if options.get("tts"):
        out["tts"] = True
    for n8n_name, name in (("username", "username"), ("avatar_url", "avatar_url")):
        if webhook and options.get(n8n_name):
            out[name] = job.value(options[n8n_name], f"options.{n8n_name}")
    if options.get("message_reference") and not webhook:
        out["reply_to"] = job.value(_locator(options["message_reference"]), "options.message_reference")
    return Converted("discord", out)


def _stripe(job: NodeJob, params: dict, version: float) -> Converted:
    resource = params.get("resource", "balance")
    operation = params.get("operation", "getAll")
    if resource == "charge" and operation == "getAll":
        return Converted("stripe", {"resource": "charge", "operation": "get_all",
                                    "return_all": bool(params.get("returnAll")), "limit": params.get("limit", 50)})
    if resource != "customer" or operation not in ("create", "get", "getAll", "update"):
        raise Unsupported(f"Stripe {resource} {operation!r} is not converted")
    out: dict[str, Any] = {"resource": "customer", "operation": "get_all" if operation == "getAll" else operation}
    if operation in ("get", "update"):
        out["customer_id"] = job.value(params.get("customerId", ""), "customerId")
    if operation == "getAll":
        out.update(return_all=bool(params.get("returnAll")), limit=params.get("limit", 50))
        email = _dict(params.get("filters")).get("email")
        if email:
            out["email"] = job.value(email, "filters.email")
        return Converted("stripe", out)
    fields = _dict(params.get("additionalFields" if operation == "create" else "updateFields"))
    where = "additionalFields" if operation == "create" else "updateFields"
    if operation == "create":
        out["name"] = job.value(params.get("name", ""), "name")
    for key in ("email", "description", "phone", "name"):
        if fields.get(key):
            out[key] = job.value(fields[key], f"{where}.{key}")
    metadata = _dict(fields.get("metadata")).get("metadataProperties") or []
    if metadata:
        out["metadata"] = {m.get("key", ""): job.value(m.get("value", ""), f"{where}.metadata.{m.get('key')}")
                           for m in metadata}
    address = _dict(_dict(fields.get("address")).get("details"))
    if address:
        out["address"] = {k: job.value(v, f"{where}.address.{k}") for k, v in address.items() if v}
    for key in ("shipping", "preferred_locales"):
        if fields.get(key):
            raise Unsupported(f"the customer's {key} is not converted")
    return Converted("stripe", out)


def _twilio(job: NodeJob, params: dict, version: float) -> Converted:
    resource, operation = params.get("resource", "sms"), params.get("operation", "send")
    if resource != "sms" or operation != "send":
        raise Unsupported(f"Twilio {resource} {operation!r} is not converted (SMS sending only)")
    out = {"operation": "send", "from_number": job.value(params.get("from", ""), "from"),
           "to": job.value(params.get("to", ""), "to"), "message": job.value(params.get("message", ""), "message"),
           "to_whatsapp": bool(params.get("toWhatsapp", False))}
    callback = _options(params).get("statusCallback")
    if callback:
        out["status_callback"] = job.value(callback, "options.statusCallback")
    return Converted("twilio", out)


def _sendgrid(job: NodeJob, params: dict, version: float) -> Converted:
    resource, operation = params.get("resource", "list"), params.get("operation", "getAll")
    if resource != "mail" or operation != "send":
        raise Unsupported(f"SendGrid {resource} {operation!r} is not converted (mail send only)")
    extra = _dict(params.get("additionalFields"))
    out: dict[str, Any] = {"from_email": job.value(params.get("fromEmail", ""), "fromEmail"),
                           "to_email": job.value(params.get("toEmail", ""), "toEmail"),
                           "subject": job.value(params.get("subject", ""), "subject")}
    if params.get("fromName"):
        out["from_name"] = job.value(params["fromName"], "fromName")
    if params.get("dynamicTemplate"):
        out["template_id"] = job.value(_locator(params.get("templateId", "")), "templateId")
        fields = _dict(params.get("dynamicTemplateFields")).get("fields") or []
        out["dynamic_template_data"] = {f.get("key", ""): job.value(f.get("value", ""), f"dynamicTemplateFields."
                                                                    f"{f.get('key')}") for f in fields}
    else:
        out["content_type"] = params.get("contentType", "text/plain")
        out["content"] = job.value(params.get("contentValue", ""), "contentValue")
    for n8n_name, name in (("ccEmail", "cc_email"), ("bccEmail", "bcc_email"), ("replyToEmail", "reply_to"),
                           ("attachments", "attachments")):
        if extra.get(n8n_name):
            out[name] = job.value(extra[n8n_name], f"additionalFields.{n8n_name}")
    if extra.get("categories"):
        out["categories"] = [c.strip() for c in str(extra["categories"]).split(",") if c.strip()]
    for unsupported in ("sendAt", "headers", "ipPoolName", "enableSandbox"):
        if extra.get(unsupported):
            raise Unsupported(f"SendGrid's {unsupported} is not converted")
    return Converted("sendgrid", out)


def _rss(job: NodeJob, params: dict, version: float) -> Converted:
    if _options(params).get("ignoreSSL"):
        job.problems.append({"node": job.name, "parameter": "options.ignoreSSL", "expression": None,
                             "severity": "warning", "reason": "LinkFlow always checks the feed's TLS certificate"})
    return Converted("rss_read", {"url": job.value(params.get("url", ""), "url")})


def _hubspot_property(value: Any) -> str:
    """n8n's property options are ``name|type`` (``email|string``)."""
    return str(value).split("|", 1)[0]


_HUBSPOT_FIELDS = {  # n8n's contact fields -> HubSpot's internal property names
    "firstName": "firstname", "lastName": "lastname", "companyName": "company", "jobTitle": "jobtitle",
    "phoneNumber": "phone", "mobilePhoneNumber": "mobilephone", "faxNumber": "fax", "city": "city",
    "country": "country", "stateRegion": "state", "postalCode": "zip", "streetAddress": "address",
    "websiteUrl": "website", "lifeCycleStage": "lifecyclestage", "leadStatus": "hs_lead_status",
    "industry": "industry", "message": "message", "salutation": "salutation", "twitterUsername": "twitterhandle",
}


def _hubspot_contact(job: NodeJob, params: dict, extra: dict) -> dict:
    properties = {"email": job.value(params.get("email", ""), "email")}
    for key, value in extra.items():
        if key == "customPropertiesUi":
            for i, custom in enumerate(_dict(value).get("customPropertiesValues") or []):
                properties[_hubspot_property(custom.get("property", ""))] = job.value(
                    custom.get("value", ""), f"additionalFields.customPropertiesUi[{i}].value")
        elif key in _HUBSPOT_FIELDS:
            properties[_HUBSPOT_FIELDS[key]] = job.value(value, f"additionalFields.{key}")
        elif key != "resolveData":
            raise Unsupported(f"the contact field {key!r} is not converted; set it as a custom property")
    return properties


def _hubspot(job: NodeJob, params: dict, version: float) -> Converted:
    resource = params.get("resource", "contact" if version >= 2 else "deal")
    operation = params.get("operation", "upsert")
    if params.get("authentication", "apiKey" if version < 2 else "appToken") != "appToken":
        raise Unsupported("only a HubSpot private app token is converted (bind a hubspot credential)")
    if resource != "contact" or operation not in ("upsert", "get", "getAll", "search"):
        raise Unsupported(f"HubSpot {resource} {operation!r} is not converted (contact upsert, get, getAll, search)")
    extra = _dict(params.get("additionalFields"))
    if operation == "upsert":
        return Converted("hubspot", {"operation": "upsert", "properties": _hubspot_contact(job, params, extra)})
    names = [_hubspot_property(p) for p in extra.get("properties") or extra.get("propertiesCollection") or []
             if isinstance(p, str)]
    if operation == "get":
        out: dict[str, Any] = {"operation": "get", "contact_id": job.value(params.get("contactId", ""), "contactId")}
    else:
        out = {"operation": "get_all" if operation == "getAll" else "search",
               "return_all": bool(params.get("returnAll")), "limit": params.get("limit", 100)}
    if names:
        out["property_names"] = names
    if operation == "search":
        groups = _dict(params.get("filterGroupsUi")).get("filterGroupsValues") or []
        if len(groups) > 1:
            raise Unsupported("more than one filter group (OR) is not converted")
        filters = []
        for i, group in enumerate(groups):
            for j, f in enumerate(_dict(group.get("filtersUi")).get("filterValues") or []):
                filters.append({"property": _hubspot_property(f.get("propertyName", "")),
                                "operator": f.get("operator", "EQ"),
                                "value": job.value(f.get("value", ""), f"filterGroupsUi[{i}].filters[{j}].value")})
        out["filters"] = filters
        if extra.get("query"):
            out["query"] = job.value(extra["query"], "additionalFields.query")
        if extra.get("sortBy"):
            raise Unsupported("sorting a HubSpot search is not converted")
    return Converted("hubspot", out)


_GMAIL_MESSAGE = {"send": "send", "reply": "reply", "get": "get", "getAll": "get_all", "delete": "delete",
                  "markAsRead": "mark_as_read", "markAsUnread": "mark_as_unread"}


def _gmail(job: NodeJob, params: dict, version: float) -> Converted:
    """n8n's Gmail node v2 (message send/reply/get/getAll/delete/markAsRead/markAsUnread, label getAll); n8n's
    ``simple`` (headers only) becomes format ``metadata``, its full parse format ``full``."""
    if version < 2:
        raise Unsupported("Gmail node version 1 is not converted; open the workflow in n8n 1.x to upgrade the node")
    if params.get("authentication", "oAuth2") != "oAuth2":
        raise Unsupported("Gmail with a Google service account is not converted; bind an oauth2 credential")
    resource = params.get("resource", "message")
    operation = params.get("operation", "send" if resource == "message" else "getAll")
    if resource == "label" and operation == "getAll":
        return Converted("gmail", {"resource": "label", "operation": "get_all",
                                   "return_all": bool(params.get("returnAll")), "limit": params.get("limit", 50)})
    if resource != "message" or operation not in _GMAIL_MESSAGE:
        raise Unsupported(f"Gmail {resource} {operation!r} is not converted (message send, reply, get, getAll, "
                          "delete, markAsRead, markAsUnread; label getAll)")
    out: dict[str, Any] = {"resource": "message", "operation": _GMAIL_MESSAGE[operation]}
    if operation != "send" and operation != "getAll":
        out["message_id"] = job.value(params.get("messageId", ""), "messageId")
    options = _options(params)
    if operation in ("send", "reply"):
        kind = params.get("emailType", "html" if version >= 2.1 else "text")
        out["html" if kind == "html" else "text"] = job.value(params.get("message", ""), "message")
        if operation == "send":
            out.update(send_to=job.value(params.get("sendTo", ""), "sendTo"),
                       subject=job.value(params.get("subject", ""), "subject"))
        elif options.get("sendTo"):
            out["send_to"] = job.value(options["sendTo"], "options.sendTo")
        for n8n_name, name in (("ccList", "cc"), ("bccList", "bcc")):
            if options.get(n8n_name):
                out[name] = job.value(options[n8n_name], f"options.{n8n_name}")
        files = _dict(options.get("attachmentsUi")).get("attachmentsBinary") or []
        names = [str(f.get("property")) for f in files if isinstance(f, dict) and f.get("property")]
        if names:
            out["attachments"] = ", ".join(names)
        for name in ("senderName", "replyTo"):
            if options.get(name):
                job.problems.append({"node": job.name, "parameter": f"options.{name}", "expression": None,
                                     "severity": "warning", "reason": f"the Gmail option {name!r} is not "
                                     "converted; Gmail sends from the connected account"})
        return Converted("gmail", out)
    if operation in ("get", "getAll"):
        out["format"] = "metadata" if params.get("simple", True) else "full"
        if options.get("downloadAttachments"):
            out.update(format="full", download_attachments=True)
        if options.get("dataPropertyAttachmentsPrefixName"):
            out["attachment_prefix"] = options["dataPropertyAttachmentsPrefixName"]
    if operation == "getAll":
        out.update(return_all=bool(params.get("returnAll")), limit=params.get("limit", 50))
        filters = _dict(params.get("filters"))
        for name in ("receivedAfter", "receivedBefore"):
            if filters.get(name):
                raise Unsupported(f"the Gmail filter {name!r} is not converted; write it into the search "
                                  "(after:YYYY/MM/DD, before:YYYY/MM/DD)")
        terms = [job.value(filters["q"], "filters.q")] if filters.get("q") else []
        if filters.get("sender"):
            terms.append("from:" + str(job.value(filters["sender"], "filters.sender")))
        if filters.get("readStatus") in ("read", "unread"):
            terms.append(f"is:{filters['readStatus']}")
        if terms:
            out["q"] = " ".join(str(t) for t in terms)
        labels = filters.get("labelIds")
        if labels:
            out["label_ids"] = [job.value(v, "filters.labelIds") for v in
                                (labels if isinstance(labels, list) else str(labels).split(","))]
        if filters.get("includeSpamTrash"):
            out["include_spam_trash"] = True
    return Converted("gmail", out)


CONVERTERS = {
    "n8n-nodes-base.gmail": _gmail,
    "n8n-nodes-base.telegram": _telegram,
    "n8n-nodes-base.discord": _discord,
    "n8n-nodes-base.stripe": _stripe,
    "n8n-nodes-base.twilio": _twilio,
    "n8n-nodes-base.sendGrid": _sendgrid,
    "n8n-nodes-base.rssFeedRead": _rss,
    "n8n-nodes-base.hubspot": _hubspot,
}

CREDENTIAL_TYPES = {"telegramApi": ("telegram", "telegram"), "discordBotApi": ("discord_bot", "discord"),
                    "discordWebhookApi": ("discord_webhook", "discord"), "stripeApi": ("stripe", "stripe"),
                    "twilioApi": ("twilio", "twilio"), "sendGridApi": ("sendgrid", "sendgrid"),
                    "hubspotAppToken": ("hubspot", "hubspot"),
                    "gmailOAuth2": ("oauth2", "gmail")}

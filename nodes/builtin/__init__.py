"""Built-in node types. NODE_TYPES is what the ``linkflow.nodes`` entry point exposes."""

from nodes.builtin.aggregate import Aggregate
from nodes.builtin.ai_agent import AiAgent
from nodes.builtin.airtable import Airtable
from nodes.builtin.code import Code
from nodes.builtin.compare_datasets import CompareDatasets
from nodes.builtin.compression import Compression
from nodes.builtin.convert_to_file import ConvertToFile
from nodes.builtin.crypto import Crypto
from nodes.builtin.date_time import DateTime
from nodes.builtin.discord import Discord
from nodes.builtin.email_imap_trigger import EmailReadImap
from nodes.builtin.execute_workflow import ExecuteWorkflow
from nodes.builtin.extract_from_file import ExtractFromFile
from nodes.builtin.filter import Filter
from nodes.builtin.github import GitHub
from nodes.builtin.github_trigger import GitHubTrigger
from nodes.builtin.gitlab import GitLab
from nodes.builtin.gmail import Gmail
from nodes.builtin.google_sheets import GoogleSheets
from nodes.builtin.html_node import Html
from nodes.builtin.http_request import HttpRequest
from nodes.builtin.hubspot import HubSpot
from nodes.builtin.if_node import If
from nodes.builtin.jira import Jira
from nodes.builtin.kafka import Kafka
from nodes.builtin.kafka_trigger import KafkaTrigger
from nodes.builtin.limit import Limit
from nodes.builtin.loop import Loop
from nodes.builtin.manual_trigger import ManualTrigger
from nodes.builtin.markdown_node import Markdown
from nodes.builtin.merge import Merge
from nodes.builtin.mysql import MySql
from nodes.builtin.noop import NoOp
from nodes.builtin.notion import Notion
from nodes.builtin.openai import OpenAi
from nodes.builtin.postgres import Postgres
from nodes.builtin.rabbitmq import RabbitMq
from nodes.builtin.rabbitmq_trigger import RabbitMqTrigger
from nodes.builtin.read_write_file import ReadWriteFile
from nodes.builtin.redis_node import Redis
from nodes.builtin.redis_trigger import RedisTrigger
from nodes.builtin.remove_duplicates import RemoveDuplicates
from nodes.builtin.respond_to_webhook import RespondToWebhook
from nodes.builtin.rss_read import RssRead
from nodes.builtin.s3 import S3
from nodes.builtin.schedule import Schedule
from nodes.builtin.send_email import SendEmail
from nodes.builtin.sendgrid import SendGrid
from nodes.builtin.set import Set
from nodes.builtin.slack import Slack
from nodes.builtin.slack_trigger import SlackTrigger
from nodes.builtin.sort import Sort
from nodes.builtin.split_out import SplitOut
from nodes.builtin.ssh import Ssh
from nodes.builtin.stop_and_error import StopAndError
from nodes.builtin.stripe import Stripe
from nodes.builtin.stripe_trigger import StripeTrigger
from nodes.builtin.switch import Switch
from nodes.builtin.telegram import Telegram
from nodes.builtin.telegram_trigger import TelegramTrigger
from nodes.builtin.twilio import Twilio
from nodes.builtin.wait import Wait
from nodes.builtin.webhook import Webhook
from nodes.builtin.xml_node import Xml

NODE_TYPES = [
    # triggers
    ManualTrigger, Webhook, Schedule, RedisTrigger, KafkaTrigger, RabbitMqTrigger,
    EmailReadImap,
    GitHubTrigger, StripeTrigger, SlackTrigger, TelegramTrigger,
    # flow
    If, Switch, Merge, Filter, Loop, Wait, ExecuteWorkflow, StopAndError, NoOp,
    # data
    Set, Sort, Limit, Aggregate, SplitOut, RemoveDuplicates, DateTime, Crypto, Code,
    # files
    ExtractFromFile, ConvertToFile, Compression, CompareDatasets, Xml, Html, Markdown,
    # integration
    HttpRequest, RespondToWebhook, ReadWriteFile, Postgres, MySql, Redis, S3, SendEmail, Kafka, Slack,
    OpenAi, AiAgent,
    GitHub, GitLab, Jira, Notion, Airtable, GoogleSheets,
    Telegram, Discord, Stripe, Twilio, SendGrid, RssRead, HubSpot,
    Ssh,
    RabbitMq,
    Gmail,
]

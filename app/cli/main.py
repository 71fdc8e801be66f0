"""agentctl: operate the agent from a terminal (talks to the database directly, no server needed).

The root command: the lifecycle commands and chat, then one group per area, in the order ``--help`` lists them.
"""

from __future__ import annotations

import typer

from app.cli import serve
from app.cli.apikeys import apikey_app
from app.cli.catalog import catalog_app
from app.cli.chat import chat
from app.cli.conversations import conversation_app
from app.cli.eval import eval_app
from app.cli.experiments import experiment_app
from app.cli.feedback import feedback_app
from app.cli.knowledge import knowledge_app
from app.cli.leads import lead_app
from app.cli.operators import operator_app
from app.cli.templates import template_app
from app.cli.tenants import killswitch_app, tenant_app
from app.cli.usage import usage_app
from app.cli.vendors import vendor_app

app = typer.Typer(help="Operate the WhatsApp agent: tenants, keys, data, conversations, chat.", no_args_is_help=True)
for command in (serve.migrate, serve.seed, serve.serve, serve.worker, serve.up, chat):
    app.command()(command)
app.add_typer(tenant_app, name="tenant")
app.add_typer(apikey_app, name="apikey")
app.add_typer(catalog_app, name="catalog")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(conversation_app, name="conversation")
app.add_typer(usage_app, name="usage")
app.add_typer(lead_app, name="lead")
app.add_typer(operator_app, name="operator")
app.add_typer(vendor_app, name="vendor")
app.add_typer(template_app, name="template")
app.add_typer(feedback_app, name="feedback")
app.add_typer(eval_app, name="eval")
app.add_typer(experiment_app, name="experiment")
app.add_typer(killswitch_app, name="killswitch")
app.add_typer(serve.healthcheck_app, name="healthcheck")

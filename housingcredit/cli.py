"""`flask …` commands: thin edges over services; each commits once."""
from __future__ import annotations

import os
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from .extensions import db

audit_cli = AppGroup("audit", help="The audit trail.")
users_cli = AppGroup("users", help="Staff accounts and API tokens.")
demo_cli = AppGroup("demo", help="Demo data.")
credit_cli = AppGroup("credit", help="Scores, tiers and every other cache of derived state.")
rules_cli = AppGroup("rules", help="The dated rules data.")
jobs_cli = AppGroup("jobs", help="Scheduled jobs.")
platform_cli = AppGroup("platform", help="The push to the provincial credit platform.")
reports_cli = AppGroup("reports", help="Credit reports.")


@audit_cli.command("verify")
def audit_verify():
    """Chain the read-logs still unchained, then check the keyed hash chain and hold it against the newest signed
    checkpoint; report the first altered, missing or reordered entry, or a truncated tail."""
    from .audit import service
    chained = service.chain_all()  # commits each batch
    if chained:
        click.echo(f"chained {chained} read-log entries written since the last batch")
    result = service.verify()
    if result.ok:
        cp = result.checkpoint
        against = (f"; matches the checkpoint of {cp['at']} ({cp['count']} entries up to entry {cp['last_id']})"
                   if cp else "; no checkpoint yet (run `flask audit checkpoint`)")
        click.echo(f"audit trail intact: {result.checked} entries{against}")
        return
    where = f" at entry {result.first_bad_id}" if result.first_bad_id is not None else ""
    click.echo(f"audit trail BROKEN{where}: {result.problem} ({result.checked} entries verified before it)")
    sys.exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint():
    """Sign the chain's head and append it to the checkpoint file (outside the database)."""
    from .audit import service
    cp = service.checkpoint()
    db.session.commit()  # the checkpoint's platform message
    click.echo(f"audit checkpoint: {cp['count']} entries up to entry {cp['last_id']} ({cp['last_hash'][:12]}) "
               f"at {cp['at']}")


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice(["caseworker", "reviewer", "supervisor", "auditor"]), required=True)
@click.option("--region", "region_code", required=True)
@click.password_option()
def users_create(username, display_name, role, region_code, password):
    from .accounts import service
    from .accounts.models import Role
    from .errors import DomainError
    try:
        service.create_staff(username, display_name, Role(role), region_code, password)
    except DomainError as err:
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    click.echo(f"created {username}")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="api client")
def users_token(username, name):
    """Issue a bearer token for a staff account (printed once)."""
    import sqlalchemy as sa
    from .accounts import service
    from .accounts.models import User
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException("no such user")
    raw = service.create_token(user, name)
    db.session.commit()
    click.echo(raw)


@users_cli.command("deactivate")
@click.argument("username")
def users_deactivate(username):
    """Deactivate an account: its sessions end and its API tokens are revoked at once."""
    from .accounts import service
    from .errors import DomainError
    try:
        service.deactivate_user(username)
    except DomainError as err:
        raise click.ClickException(str(err.message)) from None
    db.session.commit()
    click.echo(f"deactivated {username}")


@demo_cli.command("load")
@click.option("--households", default=2000, show_default=True, help="How many demo households.")
@click.option("--seed", default=7, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when households already exist.")
def demo_load(households, seed, if_empty):
    """Load demo regions' households, members and one login per role."""
    from . import demo
    demo.load(households=households, seed=seed, if_empty=if_empty, echo=click.echo)


@credit_cli.command("rebuild")
def credit_rebuild():
    """Rebuild every cache of derived state from facts: procedure schedules, watch entries, scores and tiers."""
    from . import derived
    stats = derived.rebuild(echo=click.echo)
    click.echo(stats)


@credit_cli.command("verify")
def credit_verify():
    """Recompute every cache from facts and print each difference (writes nothing); exit 1 when any."""
    from . import derived
    differences = derived.verify()
    for d in differences:
        click.echo(d.line())
    households = len({(d.household_id) for d in differences})
    click.echo(f"{len(differences)} difference(s) in {households} household(s) "
               f"({', '.join(c.name for c in derived.CACHES)} checked)")
    if differences:
        sys.exit(1)


@rules_cli.command("check")
def rules_check():
    """Load and validate the rules data; print the versions."""
    from .rules.loader import RulesError, load_rules
    try:
        book = load_rules()
    except RulesError as err:
        raise click.ClickException(str(err)) from None
    for v in book.versions:
        click.echo(f"{v.effective} {v.name}")


@rules_cli.command("what-if")
@click.argument("draft", type=click.Path(exists=True, dir_okay=False))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default="what-if.csv", show_default=True)
def rules_what_if(draft, csv_path):
    """Apply a draft rules version to every household and report who would change tier (changes nothing)."""
    from .rules import whatif
    whatif.run_cli(draft, csv_path, echo=click.echo)


@jobs_cli.command("run")
def jobs_run():
    """Run the scheduler in this process (elected by a PostgreSQL advisory lock when several start)."""
    from . import jobs
    jobs.run_forever()


@jobs_cli.command("once")
@click.argument("name", required=False)
def jobs_once(name):
    """Run the daily jobs (or one of them) now."""
    from . import jobs
    for line in jobs.run_once(name):
        click.echo(line)


@jobs_cli.command("status")
def jobs_status():
    """Each daily job's last run and last successful run; warn (exit 1) on a missed day or failed households."""
    from . import jobs
    from .clock import get_clock
    today = get_clock().today()
    warned = False
    for s in jobs.job_status(today):
        last = s.last
        if last is None:
            click.echo(f"{s.job}: never run")
        else:
            finished = f"{last.finished_dt:%Y-%m-%d %H:%M:%S} UTC" if last.finished_dt else "not finished"
            click.echo(f"{s.job}: last run for {last.legal_date}, started {last.started_dt:%Y-%m-%d %H:%M:%S} UTC, "
                       f"{finished}, {'ok' if last.ok else 'FAILED'}, {last.failed} household(s) failed, "
                       f"counts {last.counts or {}}")
        if s.warning == "never":
            click.echo(f"  WARNING: {s.job} has never run successfully")
        elif s.warning == "missed":
            click.echo(f"  WARNING: {s.job} missed a day: last successful run for {s.last_ok.legal_date}, "
                       f"today is {today}")
        elif s.warning == "failures":
            click.echo(f"  WARNING: {s.job}'s last run left {last.failed} household(s) failed")
        warned = warned or s.warning is not None
    if warned:
        sys.exit(1)


@platform_cli.command("push")
@click.option("--once", is_flag=True, help="Drain what is due now and stop (else keep pushing every interval).")
def platform_push(once):
    """Send the outbox to PLATFORM_URL: batches, back-off, dead letters (SPEC §10)."""
    import time
    from flask import current_app
    from .platform import sender
    while True:
        try:
            result = sender.push()
        except sender.NotConfigured as err:
            raise click.ClickException(str(err)) from None
        click.echo(f"platform push: {result}")
        if once:
            return
        time.sleep(float(current_app.config["PLATFORM_INTERVAL_SECONDS"]))


@platform_cli.command("receiver")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default PLATFORM_RECEIVER_PORT (5055).")
@click.option("--db", "db_path", default=None, help="Default PLATFORM_RECEIVER_DB or instance/platform-receiver.db.")
def platform_receiver(host, port, db_path):
    """Run the reference receiver (a stand-in for the provincial platform) on loopback."""
    from flask import current_app
    from werkzeug.serving import run_simple
    from .platform.receiver import create_receiver
    cfg = current_app.config
    path = db_path or cfg.get("PLATFORM_RECEIVER_DB") or os.path.join(current_app.instance_path,
                                                                       "platform-receiver.db")
    port = port or int(cfg.get("PLATFORM_RECEIVER_PORT") or 5055)
    click.echo(f"reference receiver on http://{host}:{port} (holdings in {path})")
    run_simple(host, port, create_receiver(path, cfg["PLATFORM_SECRET"]), threaded=True)


@platform_cli.command("reconcile")
def platform_reconcile():
    """Hold the platform's holdings against the outbox and print every difference."""
    from .platform import sender, service
    result = service.reconcile(sender.holdings())
    click.echo(f"held {result['held']}, ours {result['ours']}, undelivered {result['undelivered']}")
    for kind, keys in result["differences"].items():
        if keys:
            click.echo(f"{kind}: {len(keys)} ({', '.join(keys[:10])}{' …' if len(keys) > 10 else ''})")
    if not result["clean"]:
        sys.exit(1)


@reports_cli.command("batch")
@click.option("--region", help="The region of the allocation round (its office issues the reports).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False),
              help="CSV: first column a resident ID number or a household id, one household a line.")
@click.option("--user", "username", default=None, help="Run as this staff user (a caseworker: their region only); "
              "default: the system.")
@click.option("--resume", "resume_id", type=int, default=None, help="Continue batch ID (after a stop or restart).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Copy the zip here at the end.")
def reports_batch(region, path, username, resume_id, out):
    """Credit reports for an allocation round, with a progress bar; resumable; one zip at the end."""
    import shutil

    from .accounts import gate
    from .accounts.models import User
    from .errors import DomainError
    from .reports import batch
    from .reports.models import ReportBatchItem
    who = gate.SYSTEM
    if username:
        who = db.session.scalar(db.select(User).where(User.username == username))
        if who is None:
            raise click.UsageError(f"no user {username!r}")
    try:
        if resume_id is None:
            if not (region and path):
                raise click.UsageError("give --region and --file (or --resume ID)")
            with open(path, "rb") as fh:
                b = batch.create_batch(region, batch.parse_csv(fh.read()), who)
            db.session.commit()
            click.echo(f"batch {b.id}: {b.total} households (resume with --resume {b.id})")
        else:
            b = batch.get_batch(resume_id, who)
        pending = db.session.scalar(db.select(db.func.count()).select_from(ReportBatchItem).where(
            ReportBatchItem.batch_id == b.id, ReportBatchItem.status == batch.PENDING))
        with click.progressbar(length=pending, label="credit reports", show_pos=True, show_eta=True) as bar:
            result = batch.run(b.id, who, on_item=lambda _item: bar.update(1))
        b = batch.get_batch(b.id, who)
        zip_file = batch.zip_path(b)
    except DomainError as err:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in (err.errors or {}).items())
        raise click.ClickException(f"{err.message}{' — ' + details if details else ''}") from None
    click.echo(f"done {result['done']}, failed {result['failed']}, not found {result['not_found']}, "
               f"outside the region {result['out_of_region']}; zip: {zip_file}")
    if out:
        shutil.copyfile(zip_file, out)
        click.echo(f"copied to {out}")


def init_app(app: Flask) -> None:
    for group in (audit_cli, users_cli, demo_cli, credit_cli, rules_cli, jobs_cli, platform_cli, reports_cli):
        app.cli.add_command(group)

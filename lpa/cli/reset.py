"""`lpa memory-reset`: delete profiles by class and the default SM-DP+ address, after showing what and asking."""
from __future__ import annotations

from typing import Any

import click

from ..errors import InputError, Interrupted
from . import base
from .base import INTERRUPTED, out
from .terminal import safe


@click.command("memory-reset", short_help="Delete profiles by class and the default SM-DP+, after showing what.")
@click.option("--operational", is_flag=True, help="Delete every operational profile, the enabled one too.")
@click.option("--test", is_flag=True, help="Delete the test profiles loaded in the field.")
@click.option("--default-smdp", is_flag=True, help="Clear the default SM-DP+ address.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for the EID's last 4 digits (needed without a terminal).")
@click.option("--override-policy-rules", is_flag=True,
              help="Also delete profiles whose policy rules forbid it (the card allows a reset to).")
@click.option("--no-notify", is_flag=True, help="Keep the delete notifications on the eUICC instead of sending them.")
@click.pass_context
def memory_reset(ctx: click.Context, operational: bool, test: bool, default_smdp: bool, yes: bool,
                 override_policy_rules: bool, no_notify: bool) -> None:
    """Reset the eUICC's memory (ES10c.eUICCMemoryReset): nothing unless asked with --operational,
    --test, --default-smdp.

    Shows exactly which profiles go and what else is reset, then asks you
    to type the EID's last 4 digits. Deleted profiles' operators are
    notified as with `lpa delete`.
    """
    from ..operations.memory_reset import SCOPES

    asked = {"operational": operational, "test": test, "default_smdp": default_smdp}
    chosen = {bit for name, bit in SCOPES.items() if asked[name]}
    if not chosen:
        raise click.UsageError("say what to reset: --operational, --test and/or --default-smdp")
    if not yes and not base.interactive():
        raise InputError("not resetting without confirmation; add --yes")

    def confirm(plan: Any) -> bool:
        if not ctx.obj.json:
            _show(plan)
        if yes:
            return True
        typed = click.prompt(f"Type the last 4 digits of the EID ({plan.eid[:-4]}....) to reset", default="",
                             show_default=False, err=True)
        if typed.strip() != plan.eid[-4:]:
            click.echo("those are not the EID's last 4 digits", err=True)
            return False
        return True

    with ctx.obj.open() as euicc:
        plan = euicc.plan_memory_reset(chosen)
        if plan.empty:
            out(ctx, {**plan.to_json(), "deleted": [], "notifications": [], "problem": None},
                lambda: click.echo("nothing to reset on this eUICC"))
            return
        result = euicc.memory_reset(plan, confirm=confirm, override_policy=override_policy_rules,
                                    notify=ctx.obj.notify and not no_notify)

    out(ctx, result.to_json(), lambda: click.echo(safe(result.summary())),
        Interrupted("the memory reset is done") if result.interrupted else None, told=True)
    if result.interrupted:
        ctx.exit(INTERRUPTED)


def _show(plan: Any) -> None:
    """What the reset deletes, one line each, on stderr (stdout stays for the result)."""
    click.echo(f"Memory reset of eUICC {plan.eid} deletes:", err=True)
    for p in plan.profiles:
        rules = [r for r in p.policy_rules or () if r != "pprUpdateControl"]
        click.echo(safe(f"  {p.profile_class} profile {p.label} ({p.provider or '?'}, {p.name or '?'}), {p.state}"
                        + (f", nickname {p.nickname}" if p.nickname else "")
                        + (f", policy rules {'/'.join(rules)}" if rules else "")), err=True)
    if "deleteFieldLoadedTestProfiles" in plan.options:
        click.echo("  (test profiles installed at manufacture stay)", err=True)
    if plan.default_smdp:
        click.echo(safe(f"  the default SM-DP+ address {plan.default_smdp}"), err=True)
    click.echo("This cannot be undone.", err=True)


#: The commands this module adds to `lpa` (lpa.cli.COMMANDS).
COMMANDS: list[click.Command] = [memory_reset]

"""The team: invite links (/invite), joining (/start join-…), duty (/duty), help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import _, current_locale, format_when
from bot.messaging import Button, Outgoing, rows
from bot.people import Joined
from bot.roster import DutyMode
from handlers.context import BotContext
from handlers.replies import answer, answer_text
from storage.members import InviteRole

JOIN_PREFIX = "join-"
INVITE_PREFIX = "inv:"
DUTY_PREFIX = "duty:"
INVITE_ROLES: dict[str, InviteRole] = {"mediator": "mediator", "head": "head", "adviser": "adviser"}
DUTY_MODES: dict[str, DutyMode] = {"on": "on", "off": "off", "roster": "roster"}


async def join(update: Update, context: BotContext) -> None:
    """/start join-<token>: the invite link a new team member opened."""
    token = (context.args or [""])[0].removeprefix(JOIN_PREFIX)
    joined = await context.services.people.join(context.person.id, token)
    context.person = joined.person
    await context.services.menus.refresh(joined.person.id)
    await answer_text(update, context, _joined_text(context, joined))


def _joined_text(context: BotContext, joined: Joined) -> str:
    area = context.services.config.area(joined.area_id) if joined.area_id else None
    roles = {
        "mediator": _("a mediator of {area}").format(
            area=area.name.text(current_locale()) if area else ""
        ),
        "head": _("the head of the mediation society"),
        "adviser": _("the legal adviser"),
    }
    return _(
        "Welcome to the Da'asao team as {role}!\n"
        "What name should residents see? Send a short name, such as 王大姐."
    ).format(role=roles.get(joined.person.role, joined.person.role))


async def invite(update: Update, context: BotContext) -> None:
    """/invite: staff choose the role (and area) of a one-time invite link."""
    if not context.person.is_staff:
        await answer_text(update, context, _("Sorry, this is only for the mediation desk's team."))
        return
    buttons = rows(
        *(
            Button(label, f"{INVITE_PREFIX}mediator:{area.id}")
            for area in context.services.config.areas
            for label in [_("Mediator · {area}").format(area=area.name.text(current_locale()))]
        ),
        Button(_("Head of the society"), f"{INVITE_PREFIX}head:"),
        Button(_("Legal adviser"), f"{INVITE_PREFIX}adviser:"),
    )
    await answer(update, context, [Outgoing(_("Whom do you want to invite?"), buttons)])


async def invite_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    choice, _sep, area = query.data.removeprefix(INVITE_PREFIX).partition(":")
    role = INVITE_ROLES.get(choice)
    if role is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    created = await context.services.people.create_invite(context.person, role, area or None)
    await query.answer()
    expires = format_when(created.expires_at, context.services.config.locale.zone)
    link = f"https://t.me/{context.bot.username}?start={JOIN_PREFIX}{created.token}"
    await answer_text(
        update,
        context,
        _("Send this link to the person you invite. It works once, until {time}:\n{link}").format(
            time=expires, link=link
        ),
    )


async def duty(update: Update, context: BotContext) -> None:
    """/duty [on|off|roster]: a mediator's own switch."""
    mode = DUTY_MODES.get((context.args or [""])[0].lower())
    if mode is not None:
        await context.services.people.set_duty(context.person, mode)
        await answer_text(update, context, _duty_text(mode))
        return
    if not context.person.is_mediator:
        await answer_text(update, context, _("Sorry, this is only for the mediation desk's team."))
        return
    current = context.person.member.duty_mode if context.person.member else "roster"
    buttons = rows(
        Button(_("On duty now"), f"{DUTY_PREFIX}on"),
        Button(_("Off duty"), f"{DUTY_PREFIX}off"),
        Button(_("Follow the roster"), f"{DUTY_PREFIX}roster"),
    )
    await answer(update, context, [Outgoing(_duty_text(current), buttons)])


async def duty_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data
    mode = DUTY_MODES.get(query.data.removeprefix(DUTY_PREFIX))
    if mode is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    await context.services.people.set_duty(context.person, mode)
    await query.answer()
    await query.edit_message_text(_duty_text(mode))


def _duty_text(mode: str) -> str:
    texts = {
        "on": _("You are on duty now: new cases of your area come to you."),
        "off": _("You are off duty: no new cases come to you until you switch back."),
        "roster": _("You follow the duty roster: new cases come to you during your slots."),
    }
    return texts[mode]


def member_handlers() -> list[BaseHandler[Update, BotContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", join, filters=private & filters.Regex(rf"^/start {JOIN_PREFIX}")),
        CommandHandler("invite", invite, filters=private),
        CallbackQueryHandler(invite_chosen, pattern=f"^{INVITE_PREFIX}"),
        CommandHandler("duty", duty, filters=private),
        CallbackQueryHandler(duty_chosen, pattern=f"^{DUTY_PREFIX}"),
    ]

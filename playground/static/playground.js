// The playground page: phone-sized chats of demo people, drawn from the playground's JSON API.
// Plain JavaScript, no build step, nothing loaded from elsewhere. The bot's own texts come
// from the bot; only the page's chrome is translated here, in each person's language.
"use strict";

const CHAT_POLL_MS = 500;
const STATE_POLL_MS = 1000;
const TOAST_MS = 2500;

const UI = {
  zh: {
    pane: { resident: "居民", mediator: "调解员", staff: "工作人员 · 社长 · 指导员", party: "对方当事人" },
    role: {
      resident: "居民", mediator: "调解员", head: "社长", adviser: "法律指导员", staff: "妇联工作人员",
    },
    bot: "机器人",
    youAre: "您是 {name}",
    placeholder: "发消息…",
    edited: "已编辑",
    replyTo: "回复",
    you: "我",
    empty: "点左下角的 / 看命令菜单。",
    emptyResident: "直接发一句“找大阿嫂”，或点左下角的 / 看命令菜单。",
    noCommands: "机器人还没有设置命令菜单。",
    attach: "发送图片",
    commands: "命令菜单",
    send: "发送",
    dutyOn: "值班中",
    photo: "图片",
  },
  en: {
    pane: { resident: "Resident", mediator: "Mediator", staff: "Staff · head · adviser", party: "Other party" },
    role: {
      resident: "resident", mediator: "mediator", head: "head", adviser: "legal adviser",
      staff: "federation staff",
    },
    bot: "bot",
    youAre: "You are {name}",
    placeholder: "Message…",
    edited: "edited",
    replyTo: "Reply to",
    you: "You",
    empty: "Press / at the bottom left for the commands menu.",
    emptyResident: "Just write “find Da'asao”, or press / at the bottom left for the commands.",
    noCommands: "The bot has not set a commands menu yet.",
    attach: "Send a photo",
    commands: "Commands",
    send: "Send",
    dutyOn: "on duty",
    photo: "Photo",
  },
};

const state = {
  info: null, people: new Map(), counts: new Map(), seen: new Map(), panes: [], primed: false,
};

// -- small helpers ----------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const payload = await response.json().catch(() => ({ ok: false, error: response.statusText }));
  if (!payload.ok) throw new Error(payload.error || `HTTP ${response.status}`);
  return payload.result;
}

function langOf(person) {
  return person && person.language === "en" ? "en" : "zh";
}

function botName(person) {
  // The bot's profile name in the person's language (setMyName), as her phone shows it.
  const names = state.names || state.info.names || {};
  return names[langOf(person)] || state.info.bot.first_name;
}

function areaName(person, lang) {
  return person.area ? person.area[lang] || person.area.zh : "";
}

function personLabel(person) {
  const lang = langOf(person);
  const t = UI[lang];
  const name = person.display_name ? `${person.display_name} (${person.first_name})` : person.first_name;
  const where = person.area ? areaName(person, lang) : t.role[person.role];
  const tag = lang === "en" ? " · EN" : "";
  return `${name} · ${where}${tag}`;
}

function formatter(lang, options) {
  const locale = lang === "en" ? "en-GB" : "zh-CN";
  return new Intl.DateTimeFormat(locale, { timeZone: state.info.timezone, ...options });
}

function formatOffset(seconds) {
  if (seconds <= 0) return "";
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const parts = [];
  if (days) parts.push(`${days} 天 d`);
  if (hours || !days) parts.push(`${hours} 小时 h`);
  return `比现实快 ${parts.join(" ")} ahead of real time`;
}

// -- message text with Telegram entities (offsets in UTF-16 units, as JavaScript strings) ----

// Only web, mail and phone links become links (never javascript: and the like).
function safeHref(entity, slice) {
  const raw = { text_link: entity.url, url: slice, email: `mailto:${slice}`, phone_number: `tel:${slice}` }[entity.type];
  if (!raw) return null;
  const href = /^[a-z][a-z0-9+.-]*:/i.test(raw) ? raw : `https://${raw}`;
  return /^(https?:|mailto:|tel:)/i.test(href) ? href : null;
}

function entityNode(entity, slice) {
  const tags = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre" };
  if (tags[entity.type]) return el(tags[entity.type]);
  if (entity.type === "blockquote" || entity.type === "expandable_blockquote") return el("blockquote");
  if (entity.type === "spoiler") return el("span", "spoiler");
  const href = safeHref(entity, slice);
  if (!href) return el("span");
  const link = el("a");
  link.href = href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  return link;
}

function appendEntities(parent, text, entities, start, end) {
  let position = start;
  for (const entity of entities) {
    if (entity.offset < position || entity.offset >= end) continue;
    const stop = Math.min(entity.offset + entity.length, end);
    if (entity.offset > position) parent.append(text.slice(position, entity.offset));
    const node = entityNode(entity, text.slice(entity.offset, stop));
    const inner = entities.filter(
      (e) => e !== entity && e.offset >= entity.offset && e.offset + e.length <= stop,
    );
    appendEntities(node, text, inner, entity.offset, stop);
    parent.append(node);
    position = stop;
  }
  if (position < end) parent.append(text.slice(position, end));
}

function richText(text, entities) {
  const span = el("span", "text");
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  appendEntities(span, text, sorted, 0, text.length);
  return span;
}

// -- one pane: a phone with a person switcher -------------------------------------------------

class Pane {
  constructor(spec, root) {
    this.spec = spec;
    this.root = root;
    this.personId = null;
    this.version = null;
    this.view = null;
    this.replyTo = null;
    this.busy = false;
    const q = (selector) => root.querySelector(selector);
    this.nodes = {
      role: q(".pane-role"), who: q(".who"), unread: q(".unread-total"),
      name: q(".chat-name"), sub: q(".chat-sub"), messages: q(".messages"),
      toast: q(".toast"), alert: q(".alert"), alertText: q(".alert-text"),
      menu: q(".commands-menu"), replyBar: q(".reply-bar"), replyLabel: q(".reply-bar-label"),
      replyQuote: q(".reply-bar-quote"), form: q(".composer"), input: q(".text-input"),
      attach: q(".attach-input"), keyboard: q(".reply-keyboard"),
      menuButton: q(".menu-button"), attachButton: q(".attach-button"), sendButton: q(".send-button"),
    };
    root.dataset.pane = spec.id;
    this.bind();
  }

  get person() { return state.people.get(this.personId); }
  get t() { return UI[langOf(this.person)]; }

  bind() {
    const n = this.nodes;
    n.who.addEventListener("change", () => this.show(Number(n.who.value)));
    n.form.addEventListener("submit", (event) => { event.preventDefault(); this.sendText(); });
    // Enter sends, Shift+Enter starts a new line (as Telegram Desktop); the box grows with
    // its lines, so a five-line notice is typed and sent as five lines.
    n.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendText();
      }
    });
    n.input.addEventListener("input", () => this.fitInput());
    n.menuButton.addEventListener("click", () => { n.menu.hidden = !n.menu.hidden; });
    n.attachButton.addEventListener("click", () => n.attach.click());
    n.attach.addEventListener("change", () => this.sendPhoto());
    this.root.querySelector(".reply-cancel").addEventListener("click", () => this.setReply(null));
    this.root.querySelector(".alert button").addEventListener("click", () => { n.alert.hidden = true; });
  }

  fillSwitcher() {
    const who = this.nodes.who;
    who.textContent = "";
    for (const id of this.spec.people) {
      const person = state.people.get(id);
      const option = el("option", "", personLabel(person));
      option.value = String(id);
      who.append(option);
    }
  }

  show(personId) {
    this.personId = personId;
    this.version = null;
    this.view = null;
    this.replyTo = null;
    this.nodes.who.value = String(personId);
    localStorage.setItem(`playground:${this.spec.id}`, String(personId));
    this.drawChrome();
    this.nodes.messages.textContent = "";
    this.nodes.replyBar.hidden = true;
    this.nodes.menu.hidden = true;
    this.markSeen();
    this.poll();
  }

  drawChrome() {
    const t = this.t;
    const person = this.person;
    const lang = langOf(person);
    this.root.lang = lang === "en" ? "en" : "zh-CN";
    this.nodes.role.textContent = t.pane[this.spec.id];
    this.nodes.name.textContent = botName(person);
    const who = person.display_name || person.first_name;
    const duty = person.duty_on ? ` · ${t.dutyOn}` : "";
    const where = person.area ? ` · ${areaName(person, lang)}` : "";
    this.nodes.sub.textContent = `${t.bot} · ${t.youAre.replace("{name}", who)} (${t.role[person.role]}${where}${duty})`;
    this.nodes.attachButton.title = t.attach;
    this.nodes.menuButton.title = t.commands;
    this.nodes.sendButton.title = t.send;
  }

  markSeen() {
    state.seen.set(this.personId, state.counts.get(this.personId) || 0);
  }

  drawUnread() {
    let total = 0;
    for (const option of this.nodes.who.options) {
      const id = Number(option.value);
      const unread = Math.max(0, (state.counts.get(id) || 0) - (state.seen.get(id) || 0));
      const label = personLabel(state.people.get(id)) + (unread && id !== this.personId ? `  ● ${unread}` : "");
      if (option.textContent !== label) option.textContent = label;
      if (id !== this.personId) total += unread;
    }
    this.nodes.unread.hidden = total === 0;
    this.nodes.unread.textContent = String(total);
  }

  async poll() {
    if (this.busy || this.personId === null) return;
    this.busy = true;
    const asked = this.personId;
    try {
      const query = this.version ? `?version=${this.version}` : "";
      const view = await api(`/api/chats/${asked}${query}`);
      if (asked === this.personId && !view.unchanged) {
        this.version = view.version;
        this.view = view;
        this.draw();
      }
    } catch (error) {
      console.warn("poll failed", error);
    } finally {
      this.busy = false;
    }
  }

  // -- drawing ---------------------------------------------------------------------------------

  draw() {
    const box = this.nodes.messages;
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
    const before = box.querySelectorAll(".msg").length;
    box.textContent = "";
    const t = this.t;
    if (!this.view.messages.length) {
      box.append(el("div", "empty", this.person.role === "resident" ? t.emptyResident : t.empty));
    }
    let lastDay = "";
    const dayFormat = formatter(langOf(this.person), { year: "numeric", month: "long", day: "numeric", weekday: "short" });
    for (const message of this.view.messages) {
      const day = dayFormat.format(new Date(message.date * 1000));
      if (day !== lastDay) box.append(el("div", "day", day));
      lastDay = day;
      box.append(this.drawMessage(message));
    }
    if (atBottom || this.view.messages.length !== before) box.scrollTop = box.scrollHeight;
    this.drawKeyboard();
    this.drawCommands();
  }

  drawMessage(message) {
    const t = this.t;
    const wrap = el("div", `msg ${message.from_bot ? "in" : "out"}`);
    wrap.dataset.id = String(message.id);
    if (this.replyTo && this.replyTo.id === message.id) wrap.classList.add("selected");
    const bubble = el("div", "bubble");
    if (message.reply_to) {
      const quote = el("div", "quote");
      quote.append(el("b", "", message.reply_to.from_bot ? botName(this.person) : t.you));
      quote.append(message.reply_to.text);
      bubble.append(quote);
    }
    this.drawMedia(bubble, message);
    if (message.text) bubble.append(richText(message.text, message.entities));
    const time = formatter(langOf(this.person), { hour: "2-digit", minute: "2-digit", hour12: false })
      .format(new Date(message.date * 1000));
    const meta = el("span", "meta", message.edited ? `${t.edited} ${time}` : time);
    bubble.append(meta);
    bubble.addEventListener("click", (event) => {
      if (event.target.closest("a, audio, video")) return;
      this.setReply(this.replyTo && this.replyTo.id === message.id ? null : message);
    });
    wrap.append(bubble);
    if (message.buttons.length) wrap.append(this.drawInlineKeyboard(message));
    return wrap;
  }

  drawMedia(bubble, message) {
    const media = message.media;
    if (!media) return;
    if (message.kind === "photo") {
      const img = el("img", "photo");
      img.src = media.url;
      img.alt = this.t.photo;
      bubble.append(img);
    } else if (message.kind === "sticker") {
      const img = el("img", "photo");
      img.src = media.url;
      img.alt = media.emoji || "sticker";
      img.style.maxWidth = "160px";
      bubble.append(img);
    } else if (message.kind === "voice" || message.kind === "audio") {
      const audio = el("audio");
      audio.controls = true;
      audio.src = media.url;
      audio.style.maxWidth = "230px";
      bubble.append(audio);
    } else if (message.kind === "video") {
      const video = el("video", "photo");
      video.controls = true;
      video.src = media.url;
      bubble.append(video);
    } else if (message.kind === "document") {
      const link = el("a", "media-line", `📄 ${media.file_name || "file"}`);
      link.href = media.url;
      link.download = media.file_name || "file";
      bubble.append(link);
    } else if (message.kind === "location") {
      bubble.append(el("span", "media-line", `📍 ${media.latitude}, ${media.longitude}`));
    } else if (message.kind === "contact") {
      bubble.append(el("span", "media-line", `👤 ${media.first_name} · ${media.phone_number}`));
    }
  }

  drawInlineKeyboard(message) {
    const keyboard = el("div", "inline-keyboard");
    for (const row of message.buttons) {
      const line = el("div", "inline-row");
      for (const button of row) {
        const key = el("button", "", button.text);
        key.type = "button";
        if (button.url) {
          key.addEventListener("click", () => window.open(button.url, "_blank", "noopener"));
        } else if (button.callback_data !== undefined) {
          key.addEventListener("click", () => this.press(message.id, button.callback_data, key));
        }
        line.append(key);
      }
      keyboard.append(line);
    }
    return keyboard;
  }

  drawKeyboard() {
    const box = this.nodes.keyboard;
    const keyboard = this.view.keyboard;
    box.textContent = "";
    box.hidden = !keyboard;
    this.nodes.input.placeholder = (keyboard && keyboard.placeholder) || this.t.placeholder;
    if (!keyboard) return;
    for (const row of keyboard.rows) {
      const line = el("div", "row");
      for (const button of row) {
        const key = el("button", "", button.text);
        key.type = "button";
        key.addEventListener("click", () => {
          if (button.request_contact) this.send({ contact: true });
          else if (button.request_location) this.send({ location: true });
          else this.send({ text: button.text });
        });
        line.append(key);
      }
      box.append(line);
    }
  }

  drawCommands() {
    const menu = this.nodes.menu;
    menu.textContent = "";
    if (!this.view.commands.length) {
      menu.append(el("div", "empty-commands", this.t.noCommands));
      return;
    }
    for (const command of this.view.commands) {
      const item = el("button", "command-item");
      item.type = "button";
      item.append(el("span", "command", `/${command.command}`));
      item.append(el("span", "description", command.description));
      item.addEventListener("click", () => {
        menu.hidden = true;
        this.send({ text: `/${command.command}` });
      });
      menu.append(item);
    }
  }

  setReply(message) {
    this.replyTo = message;
    const bar = this.nodes.replyBar;
    bar.hidden = !message;
    for (const node of this.nodes.messages.querySelectorAll(".msg.selected")) node.classList.remove("selected");
    if (!message) return;
    const node = this.nodes.messages.querySelector(`.msg[data-id="${message.id}"]`);
    if (node) node.classList.add("selected");
    this.nodes.replyLabel.textContent = `${this.t.replyTo} ${message.from_bot ? botName(this.person) : this.t.you}`;
    this.nodes.replyQuote.textContent = message.text || (message.media ? "🖼" : "");
    this.nodes.input.focus();
  }

  // -- acting as the person -----------------------------------------------------------------

  async send(body) {
    const payload = { ...body };
    if (this.replyTo) payload.reply_to = this.replyTo.id;
    try {
      await api(`/api/chats/${this.personId}/send`, payload);
      this.setReply(null);
    } catch (error) {
      this.toast(error.message);
    }
    this.poll();
  }

  fitInput() {
    const box = this.nodes.input;
    box.style.height = "auto";
    box.style.height = `${box.scrollHeight + 2}px`;
  }

  sendText() {
    const text = this.nodes.input.value.trim();
    if (!text) return;
    this.nodes.input.value = "";
    this.fitInput();
    this.nodes.menu.hidden = true;
    this.send({ text });
  }

  sendPhoto() {
    const file = this.nodes.attach.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      const photo = String(reader.result).split(",", 2)[1] || "";
      const caption = this.nodes.input.value.trim();
      this.nodes.input.value = "";
      this.nodes.attach.value = "";
      this.send(caption ? { photo, caption } : { photo });
    };
    reader.readAsDataURL(file);
  }

  async press(messageId, data, key) {
    key.disabled = true;
    try {
      const answer = await api(`/api/chats/${this.personId}/press`, { message_id: messageId, callback_data: data });
      if (answer.answered && answer.text) {
        if (answer.show_alert) this.alert(answer.text);
        else this.toast(answer.text);
      }
    } catch (error) {
      this.toast(error.message);
    } finally {
      key.disabled = false;
    }
    this.poll();
  }

  toast(text) {
    const toast = this.nodes.toast;
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { toast.hidden = true; }, TOAST_MS);
  }

  alert(text) {
    this.nodes.alertText.textContent = text;
    this.nodes.alert.hidden = false;
  }
}

// -- the page ---------------------------------------------------------------------------------

function drawClock(clock) {
  const now = new Date(clock.now);
  const format = formatter("zh", {
    year: "numeric", month: "long", day: "numeric", weekday: "short",
    hour: "2-digit", minute: "2-digit", hour12: false,
  });
  document.getElementById("clock-now").textContent = `${format.format(now)} (${state.info.timezone})`;
  document.getElementById("clock-offset").textContent = formatOffset(clock.offset_seconds);
}

async function moveClock(seconds) {
  try {
    drawClock(await api("/api/clock", { seconds }));
  } catch (error) {
    console.warn("clock", error);
  }
}

async function pollState() {
  try {
    const result = await api("/api/state");
    drawClock(result.clock);
    // The bot publishes its profile names after it starts, maybe after the page opened.
    const renamed = JSON.stringify(result.names) !== JSON.stringify(state.names);
    state.names = result.names;
    if (renamed) for (const pane of state.panes) pane.drawChrome();
    for (const [id, count] of Object.entries(result.counts)) {
      state.counts.set(Number(id), count);
      if (!state.primed) state.seen.set(Number(id), count);  // unread: since the page opened
    }
    state.primed = true;
    for (const pane of state.panes) {
      pane.markSeen();
      pane.drawUnread();
    }
  } catch (error) {
    console.warn("state", error);
  }
  setTimeout(pollState, STATE_POLL_MS);
}

async function pollChats() {
  await Promise.all(state.panes.map((pane) => pane.poll()));
  setTimeout(pollChats, CHAT_POLL_MS);
}

async function start() {
  state.info = await api("/api/info");
  for (const person of state.info.people) state.people.set(person.id, person);
  const template = document.getElementById("pane-template");
  const container = document.getElementById("panes");
  for (const spec of state.info.panes) {
    if (!spec.people.length) continue;
    const root = template.content.firstElementChild.cloneNode(true);
    container.append(root);
    const pane = new Pane(spec, root);
    pane.fillSwitcher();
    state.panes.push(pane);
    const saved = Number(localStorage.getItem(`playground:${spec.id}`));
    pane.show(spec.people.includes(saved) ? saved : spec.default);
  }
  for (const button of document.querySelectorAll(".clock-buttons button")) {
    button.addEventListener("click", () => moveClock(Number(button.dataset.seconds)));
  }
  drawClock(state.info.clock);
  pollState();
  pollChats();
}

start().catch((error) => {
  document.getElementById("panes").textContent = `The playground could not start: ${error.message}`;
});

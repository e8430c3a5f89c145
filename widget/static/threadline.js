/* Threadline web widget: embed with <script src="https://support.example.com/widget/threadline.js" defer></script>.
   Vanilla JavaScript, no build step. Every text from people is inserted with textContent, never as markup. */
(function () {
  "use strict";
  if (window.Threadline && window.Threadline.version) return;
  // Calls a host page made before this script arrived, through the queue stub:
  // window.Threadline = window.Threadline || function () { (Threadline.q = Threadline.q || []).push(arguments); };
  var queued = window.Threadline && window.Threadline.q ? Array.prototype.slice.call(window.Threadline.q) : [];
  // An expected wait at least this long makes the widget offer to send the reply by email.
  var LONG_WAIT_SECONDS = 120;
  // How often a closed widget asks for replies, so the launcher can show an unread count (data-poll-seconds).
  var POLL_SECONDS = 30;
  // Built-in English, used until /widget/strings answers and if it never does: no control is ever unnamed.
  // The same texts as widget/strings.py's WIDGET_STRINGS (a test keeps them equal).
  var FALLBACK = /* strings */ {
    "launcher": "Chat with us",
    "title": "Support",
    "close": "Close",
    "placeholder": "Write a message\u2026",
    "send": "Send",
    "you": "You",
    "agent": "Support team",
    "via_email": "via email",
    "intro": "Ask us anything. We will answer here, or by email if you have left.",
    "email_label": "Your email address",
    "email_placeholder": "name@example.com",
    "email_submit": "Save",
    "email_saved": "Thanks! We will email you at {email} if you have left when we reply.",
    "error_generic": "Something went wrong. Please try again.",
    "offline": "Connection lost. Reconnecting\u2026",
    "return_open": "Open the emailed conversation",
    "return_stay": "Stay in this chat",
    "email_offer_title": "Get the reply by email",
    "email_offer_text": "Leave your address and you can close this page: a reply you have not read comes by email.",
    "email_offer_dismiss": "Not now",
    "messages": "Messages",
    "announce_message": "{author}: {message}",
    "unread_many": "More than 99 new messages",
    "agent_typing": "Agent is typing\u2026",
    "rating_question": "How did we do?",
    "rating_good": "Good",
    "rating_bad": "Bad",
    "rating_comment": "Tell us more (optional)",
    "rating_submit": "Send rating",
    "rating_thanks": "Thank you for your rating. You can change it at any time.",
    "articles_title": "While you wait, these articles may help",
    "article_read": "Read",
    "article_back": "Back to the chat",
    "article_frame": "Help-center article",
    "article_question": "Did this answer your question?",
    "article_yes": "Yes, close my conversation",
    "article_no": "No, I still need help",
    "article_solved": "Glad it helped! Your conversation is closed. Write again any time.",
    "article_waiting": "Your conversation stays in the queue; an agent will reply here.",
    "attach": "Attach a file",
    "attach_drop": "Drop the file to send it",
    "attach_uploading": "Sending {name}: {percent}%",
    "attach_sent": "{name} sent.",
    "attach_too_large": "This file is too large to send.",
    "attach_not_allowed": "This kind of file cannot be sent. Send an image, a PDF, a text file, an office document or a zip archive.",
    "attach_download": "Download {name} ({size})"
  } /* end strings */;

  var script = document.currentScript;
  var attr = function (name) { return script ? script.getAttribute(name) : null; };
  var server = (attr("data-server") || (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/+$/, "");
  var storeKey = "threadline:" + server;
  var pollSeconds = Math.max(1, +attr("data-poll-seconds") || POLL_SECONDS);
  var S = {
    open: false, token: null, conversation: null, profile: null, identity: null, language: attr("data-locale"),
    messages: {}, lastSeq: 0, readSeq: 0, reading: 0, socket: null, retry: 0, heartbeat: null, statusTimer: null,
    strings: {}, stringsReady: null, starting: null, shown: {}, direction: "ltr", availability: null,
    offerDismissed: false, counts: {}, sending: false, unreadShown: 0, ids: 0, pollTimer: null
  };
  var ui = {};

  // --- storage and the server ----------------------------------------------------------------------
  function restore() {
    try {
      var saved = JSON.parse(localStorage.getItem(storeKey) || "null");
      if (saved && saved.token && saved.conversation) { S.token = saved.token; S.conversation = saved.conversation; }
    } catch (e) { /* storage disabled: the conversation lasts as long as the page */ }
  }
  function remember() {
    try { localStorage.setItem(storeKey, JSON.stringify({ token: S.token, conversation: S.conversation })); } catch (e) { /* see restore */ }
  }
  function forget() {
    S.token = null; S.conversation = null; S.messages = {}; S.shown = {}; S.lastSeq = 0; S.readSeq = 0;
    S.offerDismissed = false;
    hideOffer();
    try { localStorage.removeItem(storeKey); } catch (e) { /* see restore */ }
    if (ui.list) ui.list.textContent = "";
    updateBadge();
  }
  function languages() {
    if (S.language) return [S.language];
    var list = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    return Array.prototype.slice.call(list);
  }
  function api(method, path, body) {
    var headers = { "Accept-Language": languages().join(", ") };
    if (S.token) headers.Authorization = "Bearer " + S.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(server + path, {
      method: method, headers: headers, credentials: "omit", mode: "cors",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).catch(function () {
      // The browser's own text ("Failed to fetch") is neither helpful nor in the end user's language.
      var error = new Error(t("error_generic") || "Network error");
      error.code = "network";
      throw error;
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) return data;
        var error = new Error((data.error && data.error.message) || t("error_generic") || response.statusText);
        error.code = data.error ? data.error.code : "http_" + response.status;
        throw error;
      });
    });
  }
  function t(key) { return S.strings[key] || FALLBACK[key] || ""; }
  // "2 new messages" in the end user's language: the server sends each count's plural form (up to 99).
  function unreadLabel(count) {
    var forms = S.counts.unread;
    if (count > 99) return t("unread_many");
    if (forms && forms[count]) return forms[count];
    return count === 1 ? "1 new message" : count + " new messages";
  }

  // --- building the widget -------------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function build() {
    if (ui.root) return;
    var host = el("div");
    host.id = "threadline-widget";
    document.body.appendChild(host);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("link");
    style.rel = "stylesheet";
    style.href = server + "/widget/threadline.css";
    root.appendChild(style);
    ui.root = root;
    ui.host = host;
    host.setAttribute("lang", "en");  // the built-in strings' language until the end user's arrive
    applyDirection();
    // The launcher's name is its label plus the unread count ("Chat with us, 2 new messages"); the badge's number
    // is for the eyes (updateBadge).
    ui.launcher = el("button", "tl-launcher");
    ui.launcher.type = "button";
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-controls", "tl-panel");
    ui.launcherText = el("span", "tl-launcher-text");
    ui.badge = el("span", "tl-badge");
    ui.badge.setAttribute("aria-hidden", "true");
    ui.badge.hidden = true;
    ui.launcher.appendChild(ui.launcherText);
    ui.launcher.appendChild(ui.badge);
    ui.launcher.addEventListener("click", function () { S.open ? closeByHand() : open(); });
    // Says what arrives without moving focus: others' messages while open, the unread count while closed.
    ui.announcer = el("div", "tl-visually-hidden");
    ui.announcer.setAttribute("aria-live", "polite");
    ui.panel = el("section", "tl-panel");
    ui.panel.id = "tl-panel";
    ui.panel.hidden = true;
    ui.panel.setAttribute("role", "dialog");
    // A non-modal dialog: Escape closes it (as the close button does), focus goes back to the launcher.
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !event.isComposing) { event.preventDefault(); closeByHand(); }
    });
    var header = el("header", "tl-header");
    ui.title = el("h2", "tl-title");
    ui.status = el("p", "tl-status");
    var dot = el("span", "tl-dot");
    dot.setAttribute("aria-hidden", "true");
    ui.statusText = el("span", "tl-status-text");
    ui.status.appendChild(dot);
    ui.status.appendChild(ui.statusText);
    ui.closeButton = el("button", "tl-close");
    ui.closeButton.type = "button";
    ui.closeButton.appendChild(el("span", null, "×")).setAttribute("aria-hidden", "true");
    ui.closeButton.addEventListener("click", closeByHand);
    header.appendChild(ui.title);
    header.appendChild(ui.closeButton);
    header.appendChild(ui.status);
    ui.intro = el("p", "tl-intro");
    // A named log around a real list. Not live itself: the announcer reads others' messages, never the end
    // user's own one back to them. Focusable, so the keyboard can scroll it.
    ui.log = el("div", "tl-log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "off");
    ui.log.tabIndex = 0;
    ui.list = el("ol", "tl-messages");
    ui.log.appendChild(ui.list);
    ui.offer = el("div", "tl-offer");
    ui.offer.hidden = true;
    ui.offer.setAttribute("role", "group");
    ui.error = el("p", "tl-error");
    ui.error.id = "tl-error";
    ui.error.setAttribute("role", "alert");
    ui.composer = el("form", "tl-composer");
    ui.input = el("textarea", "tl-input");
    ui.input.rows = 2;
    ui.input.setAttribute("aria-describedby", "tl-error");
    ui.send = el("button", "tl-send");
    ui.send.type = "submit";
    ui.composer.appendChild(ui.input);
    ui.composer.appendChild(ui.send);
    buildAttachments();
    ui.composer.addEventListener("submit", function (event) { event.preventDefault(); submitMessage(); });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submitMessage(); }
    });
    [header, ui.intro, ui.log, ui.offer, ui.error, ui.composer].forEach(function (node) { ui.panel.appendChild(node); });
    buildActivity();
    root.appendChild(ui.panel);
    root.appendChild(ui.launcher);
    root.appendChild(ui.announcer);
    applyStrings();
    followViewport();
  }
  function applyStrings() {
    if (!ui.root) return;
    ui.launcherText.textContent = t("launcher");
    ui.log.setAttribute("aria-label", t("messages"));
    ui.title.textContent = t("title");
    ui.closeButton.setAttribute("aria-label", t("close"));
    ui.intro.textContent = t("intro");
    ui.input.placeholder = t("placeholder");
    ui.input.setAttribute("aria-label", t("placeholder"));
    ui.send.textContent = t("send");
    ui.panel.setAttribute("aria-label", t("title"));
    applyAttachmentStrings();
    // Everything already shown follows the language too: message labels, email forms, the offer.
    Object.keys(S.messages).forEach(function (seq) {
      var author = S.messages[seq].querySelector(".tl-author");
      if (author && S.shown[seq]) author.textContent = authorLabel(S.shown[seq]);
    });
    Array.prototype.forEach.call(ui.root.querySelectorAll("[data-tl-text]"), function (node) {
      node.textContent = t(node.getAttribute("data-tl-text"));
    });
    Array.prototype.forEach.call(ui.root.querySelectorAll("[data-tl-placeholder]"), function (node) {
      node.placeholder = t(node.getAttribute("data-tl-placeholder"));
    });
    Array.prototype.forEach.call(ui.root.querySelectorAll("[data-tl-email]"), function (node) {
      node.textContent = t("email_saved").replace("{email}", node.getAttribute("data-tl-email"));
    });
    updateBadge();
  }
  // Right-to-left languages (Arabic, Hebrew, ...) mirror the whole widget: the CSS uses logical properties only.
  function applyDirection() {
    if (!ui.host) return;
    ui.host.setAttribute("dir", S.direction === "rtl" ? "rtl" : "ltr");
  }
  // A text of ours that follows setLocale: remembered by key and replaced by applyStrings.
  function label(tag, className, key) {
    var node = el(tag, className, t(key));
    node.setAttribute("data-tl-text", key);
    return node;
  }
  function loadStrings() {
    var query = languages().map(function (tag) { return "lang=" + encodeURIComponent(tag); }).join("&");
    // Only the latest request counts: a slower answer for an earlier language must not win (setLocale at load).
    var request = S.stringsRequest = (S.stringsRequest || 0) + 1;
    S.stringsReady = api("GET", "/widget/strings?" + query).then(function (data) {
      if (request !== S.stringsRequest) return;
      S.strings = data.strings;
      S.counts = data.counts || {};
      S.direction = data.direction || "ltr";
      if (ui.host) ui.host.setAttribute("lang", data.language.replace("_", "-"));
      applyDirection();
      applyStrings();
    }).catch(function () { /* keep the previous strings */ });
    return S.stringsReady;
  }
  function showError(text) { if (ui.error) ui.error.textContent = text || ""; }
  function refreshStatus() {
    var query = languages().map(function (tag) { return "lang=" + encodeURIComponent(tag); }).join("&");
    var request = S.statusRequest = (S.statusRequest || 0) + 1;
    return api("GET", "/api/v1/availability?" + query).then(function (data) {
      if (request !== S.statusRequest) return;
      ui.statusText.textContent = data.text;
      ui.status.classList.toggle("tl-online", !!data.team_online);
      S.availability = data;
      offerOnLongWait();
    }).catch(function () { /* the header keeps the last known status */ });
  }

  // --- messages --------------------------------------------------------------------------------------
  // live: the message arrived now (not history, not the end user's own send), so it is announced while open.
  function render(message, live) {
    if (S.messages[message.seq]) return;
    var item = el("li", "tl-message tl-" + message.author);
    item.setAttribute("data-seq", message.seq);
    if (message.author !== "system") item.appendChild(el("span", "tl-author", authorLabel(message)));
    var body = el("div", "tl-body", message.body);
    // People write in any script: the text finds its own direction; its language is the conversation's.
    body.dir = "auto";
    if (message.author !== "system" && S.profile && S.profile.language) body.lang = S.profile.language.replace("_", "-");
    item.appendChild(body);
    if (message.attachments && message.attachments.length) item.appendChild(attachmentList(message.attachments));
    if (message.kind === "email_request") item.appendChild(S.profile && S.profile.email ? emailSaved(S.profile.email) : emailForm());
    var next = null;
    Object.keys(S.messages).forEach(function (seq) {
      if (+seq > message.seq && (!next || +seq < +next.getAttribute("data-seq"))) next = S.messages[seq];
    });
    ui.list.insertBefore(item, next);
    S.messages[message.seq] = item;
    S.shown[message.seq] = message;
    if (message.seq > S.lastSeq) {
      S.lastSeq = message.seq;
      ui.log.scrollTop = ui.log.scrollHeight;
    }
    ui.intro.hidden = true;
    markRead();
    if (live && S.open && message.author !== "end_user") {
      announce(t("announce_message").replace("{author}", authorLabel(message)).replace("{message}", message.body));
    }
    // A reply nobody sees now (page hidden, widget closed) is what an email would bring.
    if (message.author === "agent" && message.seq > S.readSeq && !onScreen()) offerEmail("unread");
    updateBadge();
  }
  function announce(text) {
    if (!ui.announcer) return;
    ui.announcer.appendChild(el("p", null, text));
    // Only additions are read; old lines go so the region stays small.
    while (ui.announcer.childNodes.length > 3) ui.announcer.removeChild(ui.announcer.firstChild);
  }
  // Messages from others not yet read; none while the panel is on screen (they are being read).
  function unreadCount() {
    if (onScreen()) return 0;
    var read = Math.max(S.readSeq, S.reading);
    return Object.keys(S.shown).filter(function (seq) {
      return +seq > read && S.shown[seq].author !== "end_user";
    }).length;
  }
  function updateBadge() {
    if (!ui.badge) return;
    var count = unreadCount();
    ui.badge.hidden = count === 0;
    ui.badge.textContent = count > 99 ? "99+" : count ? String(count) : "";
    ui.launcher.setAttribute("aria-label", count ? t("launcher") + ", " + unreadLabel(count) : t("launcher"));
    // A growing count is said once while the panel is closed (the launcher's name says it on focus anyway).
    if (count > S.unreadShown && !S.open) announce(unreadLabel(count));
    S.unreadShown = count;
  }
  // While closed the WebSocket is shut (presence ends), so the widget asks now and then for replies to count.
  function pollWhileClosed() {
    if (S.open || !S.token || !S.conversation || document.visibilityState !== "visible") return;
    var conversation = S.conversation;
    api("GET", "/api/v1/conversations/" + encodeURIComponent(conversation) + "/messages?after=" + S.lastSeq).then(function (data) {
      if (S.open || S.conversation !== conversation) return;
      S.readSeq = Math.max(S.readSeq, data.conversation.end_user_read_seq);
      (data.messages || []).forEach(function (message) { render(message, false); });
      updateBadge();
    }).catch(function () { /* the next poll tries again */ });
  }
  function authorLabel(message) {
    var who = message.author === "end_user" ? t("you") : (message.author_name || t("agent"));
    return message.channel === "email" ? who + " · " + t("via_email") : who;
  }
  function onScreen() { return S.open && document.visibilityState === "visible"; }
  // A message counts as read only when it was on screen: the widget open and the page visible.
  function markRead() {
    if (!onScreen() || !S.conversation) return;
    var seq = S.lastSeq;
    if (seq <= S.readSeq || seq <= S.reading) return;
    S.reading = seq;
    api("POST", "/api/v1/conversations/" + encodeURIComponent(S.conversation) + "/read", { seq: seq })
      .then(function (data) { S.readSeq = Math.max(S.readSeq, data.end_user_read_seq); updateBadge(); })
      .catch(function () { S.reading = S.readSeq; updateBadge(); });
  }
  function emailForm() {
    var form = el("form", "tl-email-form");
    form.noValidate = true;
    var caption = label("label", "tl-email-label", "email_label");
    // type=text: browsers' email inputs refuse internationalized addresses such as jörg@bücher.example.
    var input = el("input", "tl-email-input");
    input.type = "text";
    input.setAttribute("aria-invalid", "false");
    input.inputMode = "email";
    input.autocomplete = "email";
    input.placeholder = t("email_placeholder");
    input.setAttribute("data-tl-placeholder", "email_placeholder");
    if (S.profile && S.profile.email) input.value = S.profile.email;
    caption.appendChild(input);
    var button = label("button", "tl-email-submit", "email_submit");
    button.type = "submit";
    var error = el("p", "tl-email-error");
    error.id = "tl-email-error-" + (++S.ids);
    error.setAttribute("role", "alert");
    form.appendChild(caption);
    form.appendChild(button);
    form.appendChild(error);
    // aria-disabled, not disabled: a disabled button would drop the keyboard's focus to the page.
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button.getAttribute("aria-disabled") === "true") return;
      error.textContent = "";
      input.setAttribute("aria-invalid", "false");
      input.removeAttribute("aria-describedby");
      button.setAttribute("aria-disabled", "true");
      api("POST", "/api/v1/me/email", { email: input.value }).then(function (data) {
        setProfile(data.end_user);
      }).catch(function (failure) {
        error.textContent = failure.message;
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", error.id);
        button.removeAttribute("aria-disabled");
      });
    });
    return form;
  }
  function emailSaved(email) {
    var node = el("p", "tl-email-saved", t("email_saved").replace("{email}", email));
    node.setAttribute("data-tl-email", email);
    node.tabIndex = -1;  // takes the focus of the form it replaces, which reads it out
    return node;
  }
  // The element with the keyboard's focus inside the widget (the shadow root keeps its own).
  function focused() {
    return ui.root && ui.root.activeElement !== undefined ? ui.root.activeElement : document.activeElement;
  }
  // Once the address is known, every email form in the transcript becomes its acknowledgement.
  function setProfile(profile) {
    S.profile = profile;
    if (!profile || !profile.email || !ui.list) return;
    var active = focused();
    var replace = function (form, saved) { if (active && form.contains(active)) saved.focus(); };
    Array.prototype.forEach.call(ui.list.querySelectorAll(".tl-email-form"), function (form) {
      var saved = emailSaved(profile.email);
      form.replaceWith(saved);
      replace(form, saved);
    });
    var offered = !ui.offer.hidden && ui.offer.querySelector(".tl-email-form");
    if (offered) {
      var saved = emailSaved(profile.email);
      ui.offer.textContent = "";
      ui.offer.appendChild(saved);
      replace(offered, saved);
    }
  }

  // --- "Get the reply by email" -----------------------------------------------------------------------
  // The built-in trigger asks for an address only while no agent is online. The widget itself offers it whenever
  // an email may be the only way a reply reaches the end user: a reply is unread, they are leaving, or the
  // expected wait is long. reason: "unread" | "leaving" | "wait". Returns whether the offer is now newly shown.
  function offerEmail(reason) {
    if (!ui.offer || !S.conversation || S.offerDismissed || (S.profile && S.profile.email)) return false;
    if (!ui.offer.hidden || ui.list.querySelector(".tl-email-form")) return false;  // already asked
    ui.offer.textContent = "";
    ui.offer.setAttribute("data-reason", reason);
    ui.offer.appendChild(label("p", "tl-offer-title", "email_offer_title"));
    ui.offer.appendChild(label("p", "tl-offer-text", "email_offer_text"));
    ui.offer.appendChild(emailForm());
    var later = label("button", "tl-offer-dismiss", "email_offer_dismiss");
    later.type = "button";
    later.addEventListener("click", function () { S.offerDismissed = true; hideOffer(); ui.input.focus(); });
    ui.offer.appendChild(later);
    ui.offer.hidden = false;
    return true;
  }
  function hideOffer() {
    if (!ui.offer) return;
    ui.offer.hidden = true;
    ui.offer.textContent = "";
  }
  function offerOnLongWait() {
    var found = S.availability;
    if (found && found.team_online && found.wait_seconds !== null && found.wait_seconds >= LONG_WAIT_SECONDS) {
      offerEmail("wait");
    }
  }
  function leavingPage() {
    if (document.visibilityState === "hidden") offerEmail("leaving");
    markRead();
    updateBadge();
    pollWhileClosed();
  }
  // Send stays focusable while it works (aria-disabled): focus never falls to the page.
  function submitMessage() {
    var text = ui.input.value;
    if (!text.trim() || S.sending) return;
    S.sending = true;
    ui.send.setAttribute("aria-disabled", "true");
    showError("");
    startConversation().then(function () {
      return api("POST", "/api/v1/conversations/" + encodeURIComponent(S.conversation) + "/messages", { body: text });
    }).then(function (message) {
      ui.input.value = "";
      render(message, false);
      offerOnLongWait();
      // After a click on Send the next thing to do is write again.
      if (focused() === ui.send) ui.input.focus();
      suggestArticles();
    }).catch(function (failure) {
      showError(failure.message);
    }).then(function () { S.sending = false; ui.send.removeAttribute("aria-disabled"); });
  }
  function startConversation() {
    if (S.conversation) return Promise.resolve();
    if (S.starting) return S.starting;
    var body = { language: languages()[0] };
    if (S.identity) Object.keys(S.identity).forEach(function (key) { body[key] = S.identity[key]; });
    S.starting = api("POST", "/api/v1/conversations", body).catch(function (failure) {
      if (["invalid_signature", "identity_expired", "identify_used"].indexOf(failure.code) < 0) throw failure;
      console.warn("Threadline: identify() signature refused; continuing without the identity.");
      S.identity = null;
      return api("POST", "/api/v1/conversations", { language: languages()[0] });
    }).then(function (data) {
      adopt(data);
    }).then(function () { S.starting = null; }, function (failure) { S.starting = null; throw failure; });
    return S.starting;
  }
  function adopt(data) {
    if (S.conversation !== data.conversation.id) {
      forget();
      if (S.socket) { var old = S.socket; S.socket = null; old.close(1000); }
    }
    S.token = data.token;
    S.conversation = data.conversation.id;
    setProfile(data.end_user);
    S.readSeq = data.conversation.end_user_read_seq;
    remember();
    (data.messages || []).forEach(function (message) { render(message, false); });
    connect();
  }

  // --- attachments: button, drag and drop, paste; upload with progress; thumbnails and downloads --------
  function buildAttachments() {
    ui.fileInput = el("input", "tl-file-input");
    ui.fileInput.type = "file";
    ui.fileInput.hidden = true;
    ui.fileInput.tabIndex = -1;
    ui.attachButton = el("button", "tl-attach");
    ui.attachButton.type = "button";
    ui.attachButton.appendChild(el("span", "tl-attach-icon", "\u{1F4CE}")).setAttribute("aria-hidden", "true");
    // A polite live region: screen readers hear the progress steps and the result, not every percent.
    ui.attachStatus = el("p", "tl-attach-status");
    ui.attachStatus.setAttribute("role", "status");
    ui.attachStatus.hidden = true;
    ui.attachBar = el("progress", "tl-attach-bar");
    ui.attachBar.max = 100;
    ui.attachBar.setAttribute("aria-hidden", "true");
    ui.attachBar.hidden = true;
    ui.attachButton.addEventListener("click", function () { ui.fileInput.click(); });
    ui.fileInput.addEventListener("change", function () {
      var files = Array.prototype.slice.call(ui.fileInput.files || []);
      ui.fileInput.value = "";
      sendFiles(files);
    });
    ui.composer.insertBefore(ui.attachButton, ui.composer.firstChild);
    ui.composer.appendChild(ui.fileInput);
    // Inside the composer (it is not in the panel yet); the stylesheet puts them on their own line above it.
    ui.composer.insertBefore(ui.attachBar, ui.composer.firstChild);
    ui.composer.insertBefore(ui.attachStatus, ui.composer.firstChild);
    ui.panel.addEventListener("dragover", function (event) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      ui.panel.classList.add("tl-dropping");
    });
    ui.panel.addEventListener("dragleave", function () { ui.panel.classList.remove("tl-dropping"); });
    ui.panel.addEventListener("drop", function (event) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      ui.panel.classList.remove("tl-dropping");
      sendFiles(Array.prototype.slice.call(event.dataTransfer.files || []));
    });
    // A pasted screenshot is sent as a file; pasted text stays ordinary text.
    ui.input.addEventListener("paste", function (event) {
      var files = event.clipboardData ? Array.prototype.slice.call(event.clipboardData.files || []) : [];
      if (!files.length) return;
      event.preventDefault();
      sendFiles(files);
    });
  }
  function carriesFiles(event) {
    return !!(event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [], "Files") >= 0);
  }
  function applyAttachmentStrings() {
    if (!ui.attachButton) return;
    ui.attachButton.setAttribute("aria-label", t("attach"));
    ui.attachButton.title = t("attach");
    ui.panel.setAttribute("data-tl-drop", t("attach_drop"));
  }
  function sendFiles(files) {
    var chain = Promise.resolve();
    files.forEach(function (file) { chain = chain.then(function () { return sendFile(file); }); });
    return chain;
  }
  function showUpload(name, percent) {
    ui.attachBar.hidden = false;
    ui.attachBar.value = percent;
    // Announced at the start and every quarter, so a screen reader is told how far it got without a flood.
    var step = Math.floor(percent / 25) * 25;
    if (ui.attachStatus.hidden || ui.attachStatus.getAttribute("data-step") !== String(step)) {
      ui.attachStatus.hidden = false;
      ui.attachStatus.setAttribute("data-step", String(step));
      ui.attachStatus.textContent = t("attach_uploading").replace("{name}", name).replace("{percent}", String(step));
    }
  }
  function uploadRefusal(status) {
    // The server's own message is already in the reader's language; these cover a proxy's bare answer.
    if (status === 413) return t("attach_too_large");
    if (status === 415) return t("attach_not_allowed");
    return t("error_generic");
  }
  function sendFile(file) {
    var name = file.name || "screenshot.png";
    showError("");
    return startConversation().then(function () {
      return new Promise(function (resolve, reject) {
        var xhr = new XMLHttpRequest(); // fetch() cannot report upload progress
        xhr.open("POST", server + "/api/v1/conversations/" + encodeURIComponent(S.conversation) + "/attachments");
        xhr.setRequestHeader("Authorization", "Bearer " + S.token);
        xhr.setRequestHeader("Accept-Language", languages().join(", "));
        xhr.upload.onprogress = function (event) {
          if (event.lengthComputable) showUpload(name, Math.floor(100 * event.loaded / event.total));
        };
        xhr.onload = function () {
          var data = {};
          try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: a proxy's page */ }
          if (xhr.status === 201) { resolve(data); return; }
          var error = new Error((data.error && data.error.message) || uploadRefusal(xhr.status));
          error.code = data.error ? data.error.code : "http_" + xhr.status;
          reject(error);
        };
        xhr.onerror = function () {
          var error = new Error(t("error_generic") || "Network error");
          error.code = "network";
          reject(error);
        };
        var form = new FormData();
        form.append("file", file, name);
        showUpload(name, 0);
        xhr.send(form);
      });
    }).then(function () {
      ui.attachBar.hidden = true;
      ui.attachStatus.textContent = t("attach_sent").replace("{name}", name);
      return api("GET", "/api/v1/conversations/" + encodeURIComponent(S.conversation) + "/messages?after=" + S.lastSeq);
    }).then(function (data) {
      (data.messages || []).forEach(render);
    }).catch(function (failure) {
      ui.attachBar.hidden = true;
      ui.attachStatus.hidden = true;
      showError(failure.message);
    });
  }
  function fileSize(bytes) {
    var units = bytes < 1000 ? ["byte", bytes] : bytes < 1e6 ? ["kilobyte", bytes / 1000] : ["megabyte", bytes / 1e6];
    try {
      return new Intl.NumberFormat(languages()[0], { style: "unit", unit: units[0], unitDisplay: "short",
        maximumFractionDigits: 1 }).format(units[1]);
    } catch (e) {
      return Math.round(units[1] * 10) / 10 + " " + units[0];
    }
  }
  function attachmentList(files) {
    var list = el("ul", "tl-files");
    files.forEach(function (file) {
      var item = el("li", "tl-file");
      var link = el("a", "tl-file-link");
      link.href = server + file.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.setAttribute("aria-label", t("attach_download").replace("{name}", file.name).replace("{size}", fileSize(file.size)));
      if (/^image\/(png|jpeg|gif|webp)$/.test(file.type)) {
        var thumbnail = el("img", "tl-thumbnail");
        thumbnail.src = server + file.url + "&inline=1";
        thumbnail.alt = file.name;
        thumbnail.loading = "lazy";
        link.appendChild(thumbnail);
      }
      link.appendChild(el("span", "tl-file-name", file.name + " (" + fileSize(file.size) + ")"));
      item.appendChild(link);
      list.appendChild(item);
    });
    return list;
  }

  // --- the live connection ---------------------------------------------------------------------------
  function connect() {
    if (!S.open || !S.token || !S.conversation || S.socket) return;
    var socket = new WebSocket(server.replace(/^http/, "ws") + "/api/v1/conversations/" + encodeURIComponent(S.conversation) + "/live");
    S.socket = socket;
    socket.onopen = function () { socket.send(JSON.stringify({ type: "hello", token: S.token, after: S.lastSeq })); };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onActivityFrame(frame);
      if (frame.type === "ready") {
        S.retry = 0;
        showError("");
        S.readSeq = Math.max(S.readSeq, frame.end_user_read_seq);
        startHeartbeat(socket, frame.heartbeat_seconds);
      } else if (frame.type === "message") {
        render(frame.message, frame.message.seq > S.lastSeq);
      } else if (frame.type === "read") {
        S.readSeq = Math.max(S.readSeq, frame.seq);
        updateBadge();
      } else if (frame.type === "error") {
        showError(frame.error.message);
        if (frame.error.code === "unauthorized" || frame.error.code === "not_found") forget();
      }
    };
    socket.onclose = function (event) {
      if (S.socket === socket) S.socket = null;
      stopHeartbeat();
      // 4401/4403/4404: the session is gone or refused; reconnecting would not help.
      if (!S.open || (event.code >= 4400 && event.code < 4429) || event.code > 4429 && event.code < 4500) return;
      showError(t("offline"));
      S.retry = Math.min(S.retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, S.retry));
    };
  }
  function startHeartbeat(socket, seconds) {
    stopHeartbeat();
    S.heartbeat = setInterval(function () {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "heartbeat" }));
    }, Math.max(3, seconds || 20) * 1000);
  }
  function stopHeartbeat() { if (S.heartbeat) clearInterval(S.heartbeat); S.heartbeat = null; }

  // --- typing indicator and satisfaction rating -------------------------------------------------------------
  // The end user's text goes to the server at most every TYPING_SEND_MS, plus once when it stops changing, so the
  // last state arrives (the server throttles again and expires reports). An agent typing arrives as
  // {"type": "typing"}; a solved conversation ({"type": "status"}, or the "ready" frame) asks "How did we do?".
  var TYPING_SEND_MS = 2100;
  var activity = { sentAt: 0, trailing: null, rating: null, choice: null };
  function buildActivity() {
    ui.typing = label("p", "tl-typing", "agent_typing");
    ui.typing.hidden = true;  // announced through the one live region, like messages (see announce)
    ui.rating = el("form", "tl-rating");
    ui.rating.hidden = true;
    ui.panel.insertBefore(ui.typing, ui.offer);
    ui.panel.insertBefore(ui.rating, ui.composer);
    ui.input.addEventListener("input", reportTyping);
  }
  function reportTyping() {
    if (activity.trailing) clearTimeout(activity.trailing);
    var wait = TYPING_SEND_MS - (Date.now() - activity.sentAt);
    activity.trailing = wait > 0 ? setTimeout(sendTyping, wait) : null;
    if (wait <= 0) sendTyping();
  }
  function sendTyping() {
    activity.trailing = null;
    if (!S.socket || S.socket.readyState !== WebSocket.OPEN) return;
    activity.sentAt = Date.now();
    S.socket.send(JSON.stringify({ type: "typing", text: ui.input.value }));
  }
  function onActivityFrame(frame) {
    if (frame.type === "typing") showAgentTyping(!!frame.typing);
    else if (frame.type === "message" && frame.message.author === "agent") showAgentTyping(false);
    else if (frame.type === "status") showRating(frame.status);
    else if (frame.type === "ready") {
      showAgentTyping(false);  // a reconnected socket hears it again if an agent still types
      activity.rating = frame.rating || null;
      if (ui.rating) ui.rating.hidden = true;  // rebuilt for this conversation and its rating
      showRating(frame.status);
    }
  }
  function showAgentTyping(on) {
    if (!ui.typing) return;
    if (on && ui.typing.hidden && S.open) announce(t("agent_typing"));
    ui.typing.hidden = !on;
  }
  function showRating(status) {
    if (!ui.rating) return;
    if (status !== "solved") { ui.rating.hidden = true; ui.rating.textContent = ""; return; }
    if (ui.rating.hidden) buildRating();
  }
  function buildRating() {
    var form = ui.rating;
    form.textContent = "";
    activity.choice = activity.rating ? activity.rating.score : null;
    form.appendChild(label("p", "tl-rating-question", "rating_question"));
    var choices = el("div", "tl-rating-choices");
    choices.setAttribute("role", "group");
    var note = el("p", "tl-rating-note");
    note.setAttribute("role", "status");
    var comment = el("textarea", "tl-rating-comment");
    comment.rows = 2;
    comment.placeholder = t("rating_comment");
    comment.setAttribute("data-tl-placeholder", "rating_comment");
    if (activity.rating && activity.rating.comment) comment.value = activity.rating.comment;
    var submit = label("button", "tl-rating-submit", "rating_submit");
    submit.type = "submit";
    ["good", "bad"].forEach(function (score) {
      var button = label("button", "tl-rating-choice tl-rating-" + score, "rating_" + score);
      button.type = "button";
      button.setAttribute("data-score", score);
      button.addEventListener("click", function () { sendRating(score, comment, note); });
      choices.appendChild(button);
    });
    [choices, comment, submit, note].forEach(function (node) { form.appendChild(node); });
    form.onsubmit = function (event) {
      event.preventDefault();
      if (activity.choice) sendRating(activity.choice, comment, note);
    };
    markRating(note);
    form.hidden = false;
  }
  function markRating(note) {
    Array.prototype.forEach.call(ui.rating.querySelectorAll(".tl-rating-choice"), function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-score") === activity.choice));
    });
    ui.rating.querySelector(".tl-rating-submit").disabled = !activity.choice;
    if (activity.rating) {
      note.setAttribute("data-tl-text", "rating_thanks");
      note.textContent = t("rating_thanks");
    }
  }
  function sendRating(score, comment, note) {
    activity.choice = score;
    note.removeAttribute("data-tl-text");
    api("PUT", "/api/v1/conversations/" + encodeURIComponent(S.conversation) + "/rating",
        { score: score, comment: comment.value }).then(function (data) {
      activity.rating = data.rating;
      markRating(note);
    }).catch(function (failure) {
      note.textContent = failure.message;
    });
  }

  // Help-center articles: threadline-articles.js, loaded on first use.
  function suggestArticles() {
    var id = S.conversation;
    if (!id || S.articlesFor === id) return;
    S.articlesFor = id;
    api("GET", "/api/v1/conversations/" + encodeURIComponent(id) + "/suggestions").then(function (data) {
      if (id !== S.conversation || !data.show || !data.articles.length) return;
      var show = function () {
        window.ThreadlineArticles({ api: api, el: el, label: label, ui: ui, S: S, offerEmail: offerEmail,
          showError: showError }, data.articles);
      };
      if (window.ThreadlineArticles) return show();
      var tag = el("script");
      tag.src = server + "/widget/threadline-articles.js";
      tag.onload = show;
      document.head.appendChild(tag);
    }).catch(function () {});
  }

  // --- the public API ----------------------------------------------------------------------------------
  function open() {
    if (!document.body) { document.addEventListener("DOMContentLoaded", open); return; }
    build();
    S.open = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcher.classList.add("tl-launcher-open");
    updateBadge();
    fitViewport();
    refreshStatus();
    if (!S.statusTimer) S.statusTimer = setInterval(refreshStatus, 60000);
    connect();
    markRead();
    syncLanguage();
    ui.input.focus();
  }
  // The widget's language becomes the end user's profile language (the server keeps one an agent chose).
  function syncLanguage() {
    if (!S.token || S.languageSynced) return;
    S.languageSynced = true;
    api("PUT", "/api/v1/me/language", { language: languages()[0] })
      .then(function (data) { setProfile(data.end_user); }, function () { S.languageSynced = false; });
  }
  function close() {
    // Focus inside the panel would fall to the page when it hides: it goes back to the launcher instead.
    var active = focused();
    var hadFocus = !!(ui.panel && active && ui.panel.contains(active));
    S.open = false;
    if (ui.panel) ui.panel.hidden = true;
    if (ui.launcher) {
      ui.launcher.setAttribute("aria-expanded", "false");
      ui.launcher.classList.remove("tl-launcher-open");
      if (hadFocus) ui.launcher.focus();
    }
    updateBadge();
    if (S.statusTimer) clearInterval(S.statusTimer);
    S.statusTimer = null;
    stopHeartbeat();
    // Closing the widget ends presence; the conversation goes on (unread replies may then be emailed).
    if (S.socket) { var socket = S.socket; S.socket = null; socket.close(1000); }
  }
  // The end user closing the widget is leaving: the first time, the widget stays open to offer the email reply.
  function closeByHand() {
    if (offerEmail("leaving")) {
      var input = ui.offer.querySelector("input");
      if (input) input.focus();
      return;
    }
    close();
  }
  function setLocale(tag) {
    S.language = tag || null;
    var done = loadStrings();
    if (S.open) refreshStatus();
    if (tag) S.languageSynced = true;
    if (S.token && tag) done = done.then(function () { return api("PUT", "/api/v1/me/language", { language: tag }); })
      .then(function (data) { setProfile(data.end_user); });
    return done;
  }
  // identify({user_id, email, name, expires_at, signature}): the host's backend signs user_id, email and expires_at.
  function identify(identity) {
    identity = identity || {};
    S.identity = { user_id: identity.user_id, email: identity.email, name: identity.name,
                   expires_at: identity.expires_at, signature: identity.signature };
    if (!S.token) return Promise.resolve(null);  // sent with the conversation's start
    return api("POST", "/api/v1/me/identify", S.identity).then(function (data) {
      if (data.switched) {  // another signed-in person: the chat on screen was not theirs
        if (S.socket) { var old = S.socket; S.socket = null; old.close(1000); }
        forget();
      }
      S.token = data.token;
      remember();
      setProfile(data.end_user);
      return data.end_user;
    }, function (failure) {
      S.identity = null;
      throw failure;
    });
  }
  function followReturnLink() {
    var match = location.origin === server && location.pathname.match(/^\/return\/([^/]+)$/);
    var token = match ? decodeURIComponent(match[1]) : new URLSearchParams(location.search).get("threadline_return");
    if (!token) return false;
    // Drop the token from the address bar and history: it is a credential.
    history.replaceState(null, "", match ? "/conversation" : location.pathname + location.search.replace(/([?&])threadline_return=[^&]*&?/, "$1").replace(/[?&]$/, "") + location.hash);
    useReturnLink(token, false);
    return true;
  }
  // The session this browser holds goes with the request: the server asks before a link replaces it.
  function useReturnLink(token, confirm) {
    api("POST", "/api/v1/return", { token: token, confirm: confirm }).then(function (data) {
      adopt(data);
      open();
    }, function (failure) {
      open();
      if (failure.code === "session_conflict") askBeforeSwitching(token, failure.message);
      else showError(failure.message);
    });
  }
  function askBeforeSwitching(token, question) {
    var box = el("div", "tl-switch");
    box.setAttribute("role", "group");
    box.appendChild(el("p", "tl-switch-question", question));
    var stay = el("button", "tl-switch-stay", t("return_stay"));
    var go = el("button", "tl-switch-open", t("return_open"));
    stay.type = go.type = "button";
    stay.addEventListener("click", function () { box.remove(); ui.input.focus(); });
    go.addEventListener("click", function () { box.remove(); useReturnLink(token, true); });
    box.appendChild(stay);
    box.appendChild(go);
    ui.panel.insertBefore(box, ui.log);
    stay.focus();
  }
  // A widget that comes back renews its token (tokens age out) and learns early when its session was revoked.
  function renewSession() {
    if (!S.token) return;
    api("GET", "/api/v1/me").then(function (data) {
      S.token = data.token;
      remember();
      setProfile(data.end_user);
    }, function (failure) {
      if (failure.code === "unauthorized" || failure.code === "blocked") forget();
    });
  }
  // Phones: the on-screen keyboard shrinks the visual viewport, not always the layout one (iOS, recent Android).
  // While it is up, the panel fills exactly the visible part, so the composer sits right above the keyboard.
  function followViewport() {
    var viewport = window.visualViewport;
    if (!viewport) return;
    viewport.addEventListener("resize", fitViewport);
    viewport.addEventListener("scroll", fitViewport);
  }
  function fitViewport() {
    var viewport = window.visualViewport;
    if (!viewport || !ui.panel) return;
    var covered = window.innerHeight - viewport.height - viewport.offsetTop;
    var keyboard = Math.abs(viewport.scale - 1) < 0.01 && covered > 80;  // not a pinch zoom
    ui.panel.classList.toggle("tl-keyboard", keyboard);
    ui.host.style.setProperty("--tl-visible-top", viewport.offsetTop + "px");
    ui.host.style.setProperty("--tl-visible-height", viewport.height + "px");
    if (keyboard && S.open) ui.log.scrollTop = ui.log.scrollHeight;
  }
  function start() {
    restore();
    build();
    loadStrings();
    document.addEventListener("visibilitychange", leavingPage);
    if (!followReturnLink()) {
      renewSession();
      if (attr("data-open") === "true") open();
      else pollWhileClosed();
    }
    S.pollTimer = setInterval(pollWhileClosed, pollSeconds * 1000);
    replay(queued);
    queued = [];
  }
  function replay(calls) {
    calls.forEach(function (args) {
      var name = args[0];
      var method = typeof name === "string" && Object.prototype.hasOwnProperty.call(methods, name) ? methods[name] : null;
      if (!method) { console.warn("Threadline: no such call: " + name); return; }
      try {
        var result = method.apply(null, Array.prototype.slice.call(args, 1));
        if (result && result.catch) result.catch(function (failure) { console.warn("Threadline: " + name + ": " + failure.message); });
      } catch (failure) { console.warn("Threadline: " + name + ": " + failure.message); }
    });
  }

  var methods = { open: open, close: close, setLocale: setLocale, identify: identify };
  // Both styles work after loading: Threadline.open() and Threadline("open"), as the queue stub queues them.
  var Threadline = function (name) {
    var method = Object.prototype.hasOwnProperty.call(methods, name) ? methods[name] : null;
    if (!method) throw new Error("Threadline: no such call: " + name);
    return method.apply(null, Array.prototype.slice.call(arguments, 1));
  };
  Object.keys(methods).forEach(function (name) { Threadline[name] = methods[name]; });
  Threadline.version = "1";
  window.Threadline = Threadline;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

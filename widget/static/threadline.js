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

  var script = document.currentScript;
  var attr = function (name) { return script ? script.getAttribute(name) : null; };
  var server = (attr("data-server") || (script && script.src ? new URL(script.src, location.href).origin : location.origin)).replace(/\/+$/, "");
  var storeKey = "threadline:" + server;
  var S = {
    open: false, token: null, conversation: null, profile: null, identity: null, language: attr("data-locale"),
    messages: {}, lastSeq: 0, readSeq: 0, reading: 0, socket: null, retry: 0, heartbeat: null, statusTimer: null,
    strings: {}, stringsReady: null, starting: null, shown: {}, direction: "ltr", availability: null,
    offerDismissed: false
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
        var error = new Error((data.error && data.error.message) || S.strings.error_generic || response.statusText);
        error.code = data.error ? data.error.code : "http_" + response.status;
        throw error;
      });
    });
  }
  function t(key) { return S.strings[key] || ""; }

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
    applyDirection();
    ui.launcher = el("button", "tl-launcher");
    ui.launcher.type = "button";
    ui.launcher.addEventListener("click", function () { S.open ? closeByHand() : open(); });
    ui.panel = el("section", "tl-panel");
    ui.panel.hidden = true;
    ui.panel.setAttribute("role", "dialog");
    var header = el("header", "tl-header");
    ui.title = el("h2", "tl-title");
    ui.status = el("p", "tl-status");
    ui.closeButton = el("button", "tl-close", "×");
    ui.closeButton.type = "button";
    ui.closeButton.addEventListener("click", closeByHand);
    header.appendChild(ui.title);
    header.appendChild(ui.closeButton);
    header.appendChild(ui.status);
    ui.intro = el("p", "tl-intro");
    ui.list = el("ol", "tl-messages");
    ui.list.setAttribute("role", "log");
    ui.list.setAttribute("aria-live", "polite");
    ui.offer = el("div", "tl-offer");
    ui.offer.hidden = true;
    ui.offer.setAttribute("role", "group");
    ui.error = el("p", "tl-error");
    ui.error.setAttribute("role", "alert");
    ui.composer = el("form", "tl-composer");
    ui.input = el("textarea", "tl-input");
    ui.input.rows = 2;
    ui.send = el("button", "tl-send");
    ui.send.type = "submit";
    ui.composer.appendChild(ui.input);
    ui.composer.appendChild(ui.send);
    buildAttachments();
    ui.composer.addEventListener("submit", function (event) { event.preventDefault(); submitMessage(); });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submitMessage(); }
    });
    [header, ui.intro, ui.list, ui.offer, ui.error, ui.composer].forEach(function (node) { ui.panel.appendChild(node); });
    root.appendChild(ui.panel);
    root.appendChild(ui.launcher);
    applyStrings();
  }
  function applyStrings() {
    if (!ui.root) return;
    ui.launcher.textContent = t("launcher");
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
      ui.status.textContent = data.text;
      ui.status.classList.toggle("tl-online", !!data.team_online);
      S.availability = data;
      offerOnLongWait();
    }).catch(function () { /* the header keeps the last known status */ });
  }

  // --- messages --------------------------------------------------------------------------------------
  function render(message) {
    if (S.messages[message.seq]) return;
    var item = el("li", "tl-message tl-" + message.author);
    item.setAttribute("data-seq", message.seq);
    if (message.author !== "system") item.appendChild(el("span", "tl-author", authorLabel(message)));
    item.appendChild(el("div", "tl-body", message.body));
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
      ui.list.scrollTop = ui.list.scrollHeight;
    }
    ui.intro.hidden = true;
    markRead();
    // A reply nobody sees now (page hidden, widget closed) is what an email would bring.
    if (message.author === "agent" && message.seq > S.readSeq && !onScreen()) offerEmail("unread");
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
      .then(function (data) { S.readSeq = Math.max(S.readSeq, data.end_user_read_seq); })
      .catch(function () { S.reading = S.readSeq; });
  }
  function emailForm() {
    var form = el("form", "tl-email-form");
    form.noValidate = true;
    var caption = label("label", "tl-email-label", "email_label");
    // type=text: browsers' email inputs refuse internationalized addresses such as jörg@bücher.example.
    var input = el("input", "tl-email-input");
    input.type = "text";
    input.inputMode = "email";
    input.autocomplete = "email";
    input.placeholder = t("email_placeholder");
    input.setAttribute("data-tl-placeholder", "email_placeholder");
    if (S.profile && S.profile.email) input.value = S.profile.email;
    caption.appendChild(input);
    var button = label("button", "tl-email-submit", "email_submit");
    button.type = "submit";
    var error = el("p", "tl-email-error");
    error.setAttribute("role", "alert");
    form.appendChild(caption);
    form.appendChild(button);
    form.appendChild(error);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.textContent = "";
      button.disabled = true;
      api("POST", "/api/v1/me/email", { email: input.value }).then(function (data) {
        setProfile(data.end_user);
      }).catch(function (failure) {
        error.textContent = failure.message;
        button.disabled = false;
      });
    });
    return form;
  }
  function emailSaved(email) {
    var node = el("p", "tl-email-saved", t("email_saved").replace("{email}", email));
    node.setAttribute("data-tl-email", email);
    return node;
  }
  // Once the address is known, every email form in the transcript becomes its acknowledgement.
  function setProfile(profile) {
    S.profile = profile;
    if (!profile || !profile.email || !ui.list) return;
    Array.prototype.forEach.call(ui.list.querySelectorAll(".tl-email-form"), function (form) {
      form.replaceWith(emailSaved(profile.email));
    });
    if (!ui.offer.hidden && ui.offer.querySelector(".tl-email-form")) {
      ui.offer.textContent = "";
      ui.offer.appendChild(emailSaved(profile.email));
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
  }
  function submitMessage() {
    var text = ui.input.value;
    if (!text.trim()) return;
    ui.send.disabled = true;
    showError("");
    startConversation().then(function () {
      return api("POST", "/api/v1/conversations/" + encodeURIComponent(S.conversation) + "/messages", { body: text });
    }).then(function (message) {
      ui.input.value = "";
      render(message);
      offerOnLongWait();
    }).catch(function (failure) {
      showError(failure.message);
    }).then(function () { ui.send.disabled = false; });
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
    (data.messages || []).forEach(render);
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
      if (frame.type === "ready") {
        S.retry = 0;
        showError("");
        S.readSeq = Math.max(S.readSeq, frame.end_user_read_seq);
        startHeartbeat(socket, frame.heartbeat_seconds);
      } else if (frame.type === "message") {
        render(frame.message);
      } else if (frame.type === "read") {
        S.readSeq = Math.max(S.readSeq, frame.seq);
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

  // --- the public API ----------------------------------------------------------------------------------
  function open() {
    if (!document.body) { document.addEventListener("DOMContentLoaded", open); return; }
    build();
    S.open = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
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
    S.open = false;
    if (ui.panel) ui.panel.hidden = true;
    if (ui.launcher) ui.launcher.setAttribute("aria-expanded", "false");
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
    ui.panel.insertBefore(box, ui.list);
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
  function start() {
    restore();
    build();
    loadStrings();
    document.addEventListener("visibilitychange", leavingPage);
    if (!followReturnLink()) {
      renewSession();
      if (attr("data-open") === "true") open();
    }
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

/* agent-console web chat widget. Served by the desk server; no outside code.
   Embed: <script src="https://DESK/widget.js" data-site-key="KEY" async></script>
   Every text from the desk or the customer goes in with textContent, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src, location.href).origin;
  var siteKey = script.getAttribute("data-site-key") || "";
  var pageMode = script.getAttribute("data-mode") === "page";
  var STRINGS = {
    en: {
      open: "Chat with us", close: "Close chat", log: "Conversation", you: "You",
      message: "Your message", send: "Send", typing: "{name} is typing…", agent: "Support",
      online: "An agent is online.", onlineIn: "An agent is online. Typical first reply: about {n} min.",
      offline: "Nobody is on shift right now. Leave your email and your question, and we will answer by email.",
      email: "Your email, for follow-up", saveEmail: "Save email", emailSaved: "We will write to {email}.",
      offlineSend: "Send", offlineDone: "Thank you. We will answer by email.",
      rate: "How did we do? (1 = poor, 5 = great)", stars: "{n} of 5", comment: "Comment (optional)",
      sendRating: "Send rating", rated: "Thank you for rating us {n} of 5.", resolved: "This conversation is resolved.",
      tooMany: "Too many messages. Try again in {n} s.", failed: "Not sent. Check your connection and try again.",
      opens: "We open again {time}.", reconnecting: "Reconnecting…", tooLong: "At most {n} characters.",
      solvedIt: "Yes, that solved it"
    },
    de: {
      open: "Chatten Sie mit uns", close: "Chat schließen", log: "Unterhaltung", you: "Sie",
      message: "Ihre Nachricht", send: "Senden", typing: "{name} schreibt…", agent: "Support",
      online: "Ein Mitarbeiter ist online.", onlineIn: "Ein Mitarbeiter ist online. Erste Antwort meist in etwa {n} Min.",
      offline: "Gerade ist niemand im Dienst. Hinterlassen Sie Ihre E-Mail und Ihre Frage, wir antworten per E-Mail.",
      email: "Ihre E-Mail für Rückfragen", saveEmail: "E-Mail speichern", emailSaved: "Wir schreiben an {email}.",
      offlineSend: "Senden", offlineDone: "Danke. Wir antworten per E-Mail.",
      rate: "Wie waren wir? (1 = schlecht, 5 = sehr gut)", stars: "{n} von 5", comment: "Kommentar (optional)",
      sendRating: "Bewertung senden", rated: "Danke für Ihre Bewertung: {n} von 5.", resolved: "Diese Unterhaltung ist abgeschlossen.",
      tooMany: "Zu viele Nachrichten. Bitte in {n} s erneut versuchen.", failed: "Nicht gesendet. Bitte Verbindung prüfen.",
      opens: "Wir sind wieder da: {time}.", reconnecting: "Verbinde erneut…", tooLong: "Höchstens {n} Zeichen.",
      solvedIt: "Ja, das hat geholfen"
    },
    es: {
      open: "Chatea con nosotros", close: "Cerrar chat", log: "Conversación", you: "Tú",
      message: "Tu mensaje", send: "Enviar", typing: "{name} está escribiendo…", agent: "Soporte",
      online: "Hay un agente conectado.", onlineIn: "Hay un agente conectado. Primera respuesta en unos {n} min.",
      offline: "Ahora no hay nadie de turno. Déjanos tu correo y tu pregunta y te responderemos por correo.",
      email: "Tu correo, para responderte", saveEmail: "Guardar correo", emailSaved: "Te escribiremos a {email}.",
      offlineSend: "Enviar", offlineDone: "Gracias. Te responderemos por correo.",
      rate: "¿Qué tal lo hicimos? (1 = mal, 5 = muy bien)", stars: "{n} de 5", comment: "Comentario (opcional)",
      sendRating: "Enviar valoración", rated: "Gracias por tu valoración: {n} de 5.", resolved: "Esta conversación está resuelta.",
      tooMany: "Demasiados mensajes. Inténtalo en {n} s.", failed: "No enviado. Revisa tu conexión.",
      opens: "Volvemos a abrir: {time}.", reconnecting: "Reconectando…", tooLong: "Como máximo {n} caracteres.",
      solvedIt: "Sí, se ha resuelto"
    },
    fr: {
      open: "Discutez avec nous", close: "Fermer le chat", log: "Conversation", you: "Vous",
      message: "Votre message", send: "Envoyer", typing: "{name} écrit…", agent: "Support",
      online: "Un agent est en ligne.", onlineIn: "Un agent est en ligne. Première réponse en environ {n} min.",
      offline: "Personne n'est de service pour le moment. Laissez votre e-mail et votre question, nous répondrons par e-mail.",
      email: "Votre e-mail, pour vous répondre", saveEmail: "Enregistrer l'e-mail", emailSaved: "Nous écrirons à {email}.",
      offlineSend: "Envoyer", offlineDone: "Merci. Nous répondrons par e-mail.",
      rate: "Comment était notre aide ? (1 = mauvaise, 5 = excellente)", stars: "{n} sur 5", comment: "Commentaire (facultatif)",
      sendRating: "Envoyer la note", rated: "Merci pour votre note : {n} sur 5.", resolved: "Cette conversation est résolue.",
      tooMany: "Trop de messages. Réessayez dans {n} s.", failed: "Non envoyé. Vérifiez votre connexion.",
      opens: "Réouverture : {time}.", reconnecting: "Reconnexion…", tooLong: "{n} caractères au plus.",
      solvedIt: "Oui, c'est résolu"
    },
    pt: {
      open: "Fale connosco", close: "Fechar chat", log: "Conversa", you: "Você",
      message: "A sua mensagem", send: "Enviar", typing: "{name} está a escrever…", agent: "Apoio",
      online: "Há um agente disponível.", onlineIn: "Há um agente disponível. Primeira resposta em cerca de {n} min.",
      offline: "Não há ninguém de serviço agora. Deixe o seu email e a sua pergunta e respondemos por email.",
      email: "O seu email, para lhe respondermos", saveEmail: "Guardar email", emailSaved: "Vamos escrever para {email}.",
      offlineSend: "Enviar", offlineDone: "Obrigado. Respondemos por email.",
      rate: "Como correu? (1 = mal, 5 = muito bem)", stars: "{n} de 5", comment: "Comentário (opcional)",
      sendRating: "Enviar avaliação", rated: "Obrigado pela avaliação: {n} de 5.", resolved: "Esta conversa está resolvida.",
      tooMany: "Demasiadas mensagens. Tente de novo em {n} s.", failed: "Não enviado. Verifique a ligação.",
      opens: "Voltamos a abrir: {time}.", reconnecting: "A ligar de novo…", tooLong: "No máximo {n} caracteres.",
      solvedIt: "Sim, resolveu"
    }
  };
  var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  var lang = "en";
  for (var i = 0; i < langs.length; i++) {
    var tag = String(langs[i]).toLowerCase().split("-")[0];
    if (STRINGS[tag]) { lang = tag; break; }
  }
  var S = STRINGS[lang];
  function t(name, values) {
    return S[name].replace(/\{(\w+)\}/g, function (_, k) { return values && k in values ? values[k] : ""; });
  }

  var storageKey = "agent-console-widget:" + base + ":" + siteKey;
  var state = { token: null, conv: null, seq: null, seen: {}, ws: null, retry: 0, typingSent: 0, typingTimer: 0, typingShown: 0,
                online: true, maxBody: 4000, email: null, closed: false };
  try { state.token = localStorage.getItem(storageKey); } catch (e) { /* storage off: a session per page */ }

  // --- the DOM: built with createElement and textContent only ---------------------------------
  function el(name, attrs, text) {
    var node = document.createElement(name);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) parent.appendChild(arguments[i]);
    return parent;
  }
  var root;
  if (pageMode) {
    root = document.getElementById("acw-root") || document.body;
  } else {
    var host = el("div", { "class": "agent-console-widget" });
    document.body.appendChild(host);
    root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    add(root, el("link", { rel: "stylesheet", href: base + "/widget.css" }));
  }
  var panel = el("section", { "class": "acw", role: "region", "aria-labelledby": "acw-title", lang: lang });
  var title = el("h1", { id: "acw-title" });
  var status = el("p", { "class": "acw-status", role: "status" });
  var log = el("ol", { "class": "acw-log", role: "log", "aria-live": "polite", "aria-label": S.log, tabindex: "0" });
  var typing = el("p", { "class": "acw-typing", "aria-live": "polite" });
  var error = el("p", { "class": "acw-error", role: "alert" });

  var compose = el("form", { "class": "acw-compose" });
  var text = el("textarea", { id: "acw-text", rows: "2", required: "" });
  add(compose, el("label", { "for": "acw-text" }, S.message), text, el("button", { type: "submit" }, S.send));

  var offline = el("form", { "class": "acw-offline", hidden: "" });
  var offEmail = el("input", { id: "acw-off-email", type: "email", required: "", autocomplete: "email" });
  var offText = el("textarea", { id: "acw-off-text", rows: "3", required: "" });
  add(offline, el("label", { "for": "acw-off-email" }, S.email), offEmail,
      el("label", { "for": "acw-off-text" }, S.message), offText, el("button", { type: "submit" }, S.offlineSend));

  var csat = el("form", { "class": "acw-csat", hidden: "" });
  var fieldset = add(el("fieldset"), el("legend", null, S.rate));
  var stars = el("div", { "class": "acw-stars" });
  for (var n = 1; n <= 5; n++) {
    var radio = el("input", { type: "radio", name: "acw-rating", id: "acw-rate-" + n, value: String(n), required: "" });
    add(stars, radio, el("label", { "for": "acw-rate-" + n, "aria-label": t("stars", { n: n }) }, String(n)));
  }
  var csatComment = el("textarea", { id: "acw-csat-comment", rows: "2", maxlength: "2000" });
  add(fieldset, stars, el("label", { "for": "acw-csat-comment" }, S.comment), csatComment,
      el("button", { type: "submit" }, S.sendRating));
  add(csat, fieldset);
  var csatDone = el("p", { "class": "acw-csat-done", role: "status" });

  var emailForm = el("form", { "class": "acw-email" });
  var emailInput = el("input", { id: "acw-email", type: "email", required: "", autocomplete: "email" });
  var emailSaved = el("p", { "class": "acw-email-saved", role: "status" });
  add(emailForm, el("label", { "for": "acw-email" }, S.email), emailInput, el("button", { type: "submit" }, S.saveEmail));

  add(panel, add(el("header"), title, status), log, typing, csat, csatDone, compose, offline, error, emailForm, emailSaved);
  if (pageMode) {
    add(root, panel);
  } else {
    var launcher = el("button", { "class": "acw-launcher", type: "button", "aria-expanded": "false",
                                  "aria-controls": "acw-panel" }, S.open);
    panel.id = "acw-panel";
    panel.hidden = true;
    launcher.addEventListener("click", function () {
      panel.hidden = !panel.hidden;
      launcher.setAttribute("aria-expanded", String(!panel.hidden));
      launcher.textContent = panel.hidden ? S.open : S.close;
      if (!panel.hidden) text.focus();
    });
    panel.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { launcher.click(); launcher.focus(); }
    });
    add(root, launcher, panel);
  }

  // --- talking to the desk ------------------------------------------------------------------
  function api(method, path, body, headers) {
    var h = { "Content-Type": "application/json" };
    if (state.token) h.Authorization = "Bearer " + state.token;
    for (var k in headers || {}) h[k] = headers[k];
    return fetch(base + "/api/v1/widget" + path, {
      method: method, headers: h, body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) throw { status: r.status, data: data, retry: r.headers.get("Retry-After") };
        return data;
      });
    });
  }
  function showError(err) {
    if (err && err.status === 429) error.textContent = t("tooMany", { n: err.retry || "60" });
    else if (err && err.status === 422 && err.data && err.data.error) error.textContent = err.data.error.message;
    else error.textContent = S.failed;
  }
  function ensureSession() {
    if (state.token) return Promise.resolve();
    return api("POST", "/session", { language: lang }, { "X-Site-Key": siteKey }).then(function (s) {
      state.token = s.token;
      try { localStorage.setItem(storageKey, s.token); } catch (e) { /* kept for this page only */ }
      connect();
    });
  }

  function renderAvailability(a) {
    state.online = a.online;
    status.textContent = a.online
      ? (a.typical_reply_minutes ? t("onlineIn", { n: a.typical_reply_minutes }) : S.online)
      : (state.offlineSent ? S.offlineDone : S.offline) + (a.opens_at ? " " + t("opens", { time: when(a.opens_at) }) : "");
    var offlineNow = !a.online && !state.email;
    offline.hidden = !offlineNow;
    compose.hidden = offlineNow;
  }
  function when(iso) {
    return new Date(iso).toLocaleString(lang, { weekday: "long", hour: "2-digit", minute: "2-digit" });
  }
  function renderEmail() {
    emailSaved.textContent = state.email ? t("emailSaved", { email: state.email }) : "";
    if (state.email && !emailInput.value) emailInput.value = state.email;
  }
  function setConversation(conv) {
    if (!conv) return;
    if (state.conv && conv.id < state.conv.id) return; // an older one: the newest is shown
    var changed = !state.conv || state.conv.id !== conv.id || state.conv.status !== conv.status;
    state.conv = { id: conv.id, status: conv.status, csat: conv.csat || (state.conv && state.conv.id === conv.id ? state.conv.csat : null) };
    if (changed || conv.csat) renderCsat();
  }
  function renderCsat() {
    var c = state.conv;
    var resolved = c && c.status === "resolved";
    csat.hidden = !resolved || !!c.csat;
    csatDone.textContent = resolved && c.csat ? t("rated", { n: c.csat.rating }) : (resolved ? S.resolved : "");
  }
  function addMessage(m) {
    if (state.seen[m.id]) return; // REST and the feed may both bring it: shown once
    state.seen[m.id] = true;
    var mine = m.author_type === "contact";
    var li = el("li", { "class": "acw-msg " + (mine ? "acw-mine" : "acw-theirs"), "data-id": String(m.id) });
    add(li, el("span", { "class": "acw-who" }, mine ? S.you : (m.author_name || S.agent)),
        el("p", { "class": "acw-body" }, m.body));
    // The FAQ bot's answer (it links an article) asks "did that solve it?": one click says yes.
    // Any newer message takes the button away: the question has been answered or moved on.
    var solved = log.querySelectorAll(".acw-solved");
    for (var j = 0; j < solved.length; j++) {
      if (Number(solved[j].parentNode.getAttribute("data-id")) < m.id) solved[j].remove();
    }
    if (m.kind === "bot" && /\/kb\/\d+/.test(m.body) && !(state.conv && state.conv.status === "resolved")) {
      var yes = el("button", { type: "button", "class": "acw-solved" }, S.solvedIt);
      yes.addEventListener("click", function () {
        yes.disabled = true;
        post(S.solvedIt).then(function () { yes.remove(); }, function (err) { yes.disabled = false; if (err) showError(err); });
      });
      add(li, yes);
    }
    var items = log.children, before = null;
    for (var i = items.length - 1; i >= 0; i--) {
      if (Number(items[i].getAttribute("data-id")) < m.id) break;
      before = items[i];
    }
    log.insertBefore(li, before);
    log.scrollTop = log.scrollHeight;
    if (!mine) typing.textContent = "";
  }
  function loadMessages(conversationId) {
    return api("GET", "/conversations/" + conversationId + "/messages").then(function (page) {
      page.items.forEach(addMessage);
    });
  }
  function loadMe() {
    return api("GET", "/me").then(function (me) {
      state.email = me.contact.email;
      renderEmail();
      if (state.seq === null || me.seq > state.seq) state.seq = me.seq;
      var latest = me.conversations[0];
      if (!latest) return;
      setConversation(latest);
      return loadMessages(latest.id);
    });
  }

  // --- live: the customer feed, resumed from the last seq seen -------------------------------
  function connect() {
    if (!state.token || state.ws || state.closed) return;
    var ws = new WebSocket(base.replace(/^http/, "ws") + "/api/v1/widget/events");
    state.ws = ws;
    var fromScratch = state.seq === null;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: state.token, since: state.seq }));
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "resync_required") { state.seq = null; state.seen = {}; log.textContent = ""; loadMe(); return; }
      if (typeof f.seq === "number" && f.type !== "ping" && (state.seq === null || f.seq > state.seq)) state.seq = f.seq;
      if (f.type === "ready") {
        panel.setAttribute("data-live", "true"); // for tools and tests: replies now arrive live
        state.retry = 0;
        error.textContent = "";
        renderAvailability(f.availability);
        // Live from now on; what came before this feed (a reply to the first message) is read once.
        if (fromScratch && state.conv) loadMessages(state.conv.id);
      }
      else if (f.type === "availability") renderAvailability(f.availability);
      else if (f.type === "message") { setConversation(f.conversation); if (state.conv.id === f.conversation.id) addMessage(f.message); }
      else if (f.type === "conversation") setConversation(f.conversation);
      else if (f.type === "csat" && state.conv && state.conv.id === f.csat.conversation_id) { state.conv.csat = f.csat; renderCsat(); }
      else if (f.type === "typing" && state.conv && f.conversation_id === state.conv.id) {
        typing.textContent = f.active ? t("typing", { name: f.name || S.agent }) : "";
        clearTimeout(state.typingShown); // an agent who goes quiet without saying so stops "typing"
        if (f.active) state.typingShown = setTimeout(function () { typing.textContent = ""; }, 8000);
      }
    };
    ws.onclose = function (ev) {
      state.ws = null;
      panel.setAttribute("data-live", "false");
      if (ev.code === 4401) { // the desk no longer knows this browser: start afresh
        state.token = null;
        try { localStorage.removeItem(storageKey); } catch (e) { /* nothing kept */ }
        return;
      }
      var wait = Math.min(10000, 300 * Math.pow(2, state.retry++)) * (0.75 + Math.random() / 2);
      error.textContent = S.reconnecting;
      setTimeout(connect, wait);
    };
  }
  function sendTyping(active) {
    if (!state.ws || state.ws.readyState !== 1 || !state.conv || state.conv.status === "resolved") return;
    state.ws.send(JSON.stringify({ type: "typing", conversation_id: state.conv.id, active: active }));
  }
  text.addEventListener("input", function () {
    var now = Date.now();
    if (now - state.typingSent > 2000) { state.typingSent = now; sendTyping(true); }
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(function () { state.typingSent = 0; sendTyping(false); }, 3000);
  });
  text.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); compose.requestSubmit(); }
  });

  function post(body) {
    if (body.length > state.maxBody) { error.textContent = t("tooLong", { n: state.maxBody }); return Promise.reject(null); }
    var key = "w-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
    return ensureSession().then(function () {
      var open = state.conv && state.conv.status !== "resolved" ? state.conv.id : null;
      return api("POST", "/messages", { body: body, conversation_id: open }, { "Idempotency-Key": key });
    }).then(function (posted) {
      error.textContent = "";
      setConversation(posted.conversation);
      addMessage(posted.message);
    });
  }
  compose.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = text.value.trim();
    if (!body) return;
    clearTimeout(state.typingTimer);
    state.typingSent = 0;
    post(body).then(function () { text.value = ""; }, function (err) { if (err) showError(err); });
  });
  offline.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var email = offEmail.value.trim(), body = offText.value.trim();
    if (!email || !body) return;
    ensureSession().then(function () { return api("POST", "/email", { email: email }); }).then(function (c) {
      state.email = c.email;
      return post(body);
    }).then(function () {
      offText.value = "";
      renderEmail();
      state.offlineSent = true; // said until someone comes on shift, whatever the feed says meanwhile
      offline.hidden = true;
      compose.hidden = false;
      status.textContent = S.offlineDone;
    }, function (err) { if (err) showError(err); });
  });
  emailForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var email = emailInput.value.trim();
    ensureSession().then(function () { return api("POST", "/email", { email: email }); }).then(function (c) {
      state.email = c.email;
      renderEmail();
    }, showError);
  });
  csat.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var picked = csat.querySelector("input[name=acw-rating]:checked");
    if (!picked || !state.conv) return;
    api("POST", "/conversations/" + state.conv.id + "/csat",
        { rating: Number(picked.value), comment: csatComment.value.trim() }).then(function (rating) {
      state.conv.csat = rating;
      renderCsat();
    }, showError);
  });

  api("GET", "/config?key=" + encodeURIComponent(siteKey)).then(function (cfg) {
    title.textContent = cfg.desk_name;
    state.maxBody = cfg.max_body;
    renderAvailability(cfg.availability);
  }, showError);
  if (state.token) {
    loadMe().then(connect, function (err) {
      if (err && err.status === 401) {
        state.token = null;
        try { localStorage.removeItem(storageKey); } catch (e) { /* nothing kept */ }
      } else {
        connect();
      }
    });
  }
})();

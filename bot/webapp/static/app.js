/* The Mini App: the month table as the seed shows it, a statement for any range, charts and
   receipts, over /app/api/. Every request carries Telegram's launch data (`api` below is the
   only place that talks to the server). Plain JS, no build step. */
(function () {
  "use strict";

  var tg = window.Telegram && window.Telegram.WebApp;
  var API = "api";
  var state = { accounts: [], account: null, period: null, tab: "month", months: 12 };
  var history = [];

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "class") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function say(text) { var m = $("message"); m.textContent = text; m.hidden = !text; }

  /* --- the server: never without the launch data ------------------------------------------ */
  function api(path, params, body) {
    if (!tg || !tg.initData) return Promise.reject(new Error("no launch data"));
    var query = params ? "?" + new URLSearchParams(params).toString() : "";
    var headers = { Authorization: "tma " + tg.initData };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(API + path + query, {
      method: body === undefined ? "GET" : "POST",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        return response.json().catch(function () { return {}; }).then(function (data) {
          error.code = data.error;
          throw error;
        });
      }
      return response.json();
    });
  }
  function failed(error) {
    var texts = {
      401: "Сессия устарела. Закройте таблицу и откройте её снова из бота.",
      403: "Сначала зарегистрируйтесь в боте.",
      404: "Нет данных за этот период.",
      429: "Слишком много запросов. Подождите немного.",
    };
    say(texts[error.status] || "Не удалось загрузить данные. Попробуйте ещё раз.");
  }

  /* --- Telegram's theme and back button ------------------------------------------------------ */
  var THEME = {
    bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
    button_color: "--button", button_text_color: "--button-text",
    secondary_bg_color: "--secondary-bg", section_bg_color: "--section-bg",
    accent_text_color: "--accent", destructive_text_color: "--destructive",
  };
  function applyTheme() {
    var params = (tg && tg.themeParams) || {};
    var root = document.documentElement;
    Object.keys(THEME).forEach(function (key) {
      if (params[key]) root.style.setProperty(THEME[key], params[key]);
    });
    root.dataset.scheme = (tg && tg.colorScheme) === "dark" ? "dark" : "light";
  }
  function updateBack() {
    if (!tg || !tg.BackButton) return;
    if (history.length) tg.BackButton.show(); else tg.BackButton.hide();
  }
  function goBack() {
    var previous = history.pop();
    if (previous) show(previous.tab, previous.period, true);
    updateBack();
  }

  /* --- the month ------------------------------------------------------------------------------ */
  var COLUMNS = ["opening", "charged", "recalculation", "paid", "closing"];
  function amountCells(figures) {
    return COLUMNS.map(function (key) {
      var cell = el("td", { class: "num " + key, text: figures[key].text });
      if (key === "recalculation" && figures[key].value === "0.00") cell.textContent = "-";
      return cell;
    });
  }
  function lineRow(line) {
    var name = el("td", { class: "service", text: line.label || line.service });
    if (line.common) name.appendChild(el("span", { class: "mark common", text: "ОДН", title: "Общедомовые нужды" }));
    if (line.recalculated) name.appendChild(el("span", { class: "mark recalc", text: "↻", title: "Перерасчёт" }));
    var row = el("tr", { class: line.recalculated ? "line recalc" : "line" }, [
      name,
      el("td", { class: "unit", text: line.unit }),
      el("td", { class: "num tariff", text: line.tariff.text }),
      el("td", { class: "num volume", text: line.volume.text }),
    ].concat(amountCells(line)));
    return row;
  }
  function recalcNote(line) {
    /* «Перерасчёт за 01.2020: причина» under a line the billing explained */
    var r = line.recalc;
    var text = "Перерасчёт" + (r.period ? " за " + r.period.text : "") + ": " +
      (r.reason || "причина не указана");
    return el("tr", { class: "note" }, [el("td", { class: "service note", colspan: "9", text: text })]);
  }
  function appendLines(body, lines) {
    lines.forEach(function (line) {
      body.appendChild(lineRow(line));
      if (line.recalc) body.appendChild(recalcNote(line));
    });
  }
  function totalRow(label, totals, kind) {
    return el("tr", { class: kind }, [
      el("td", { class: "service", text: label }), el("td"), el("td"), el("td"),
    ].concat(amountCells(totals)));
  }
  function renderMonth(month) {
    var body = $("month-table").tBodies[0];
    body.textContent = "";
    month.groups.forEach(function (group) {
      var head = el("tr", { class: "group" }, [el("td", { class: "service", text: group.name })]);
      head.appendChild(el("td", { colspan: "8" }));
      body.appendChild(head);
      appendLines(body, group.lines);
      body.appendChild(totalRow("Итого по «" + group.name + "»", group.totals, "subtotal"));
    });
    if (month.extras && month.extras.length) {  /* пени, льготы, субсидии: never in a service */
      var extras = el("tr", { class: "group extras" }, [
        el("td", { class: "service", text: "Пени, льготы и субсидии" }), el("td", { colspan: "8" }),
      ]);
      body.appendChild(extras);
      appendLines(body, month.extras);
    }
    body.appendChild(totalRow("ИТОГО за " + month.period.text, month.totals, "total"));
    $("month-title").textContent = month.period.text;
    $("to-pay").textContent = month.to_pay.text + "\u00a0₽";
    $("month-prev").disabled = !month.previous;
    $("month-next").disabled = !month.next;
    $("month-prev").dataset.period = month.previous ? month.previous.value : "";
    $("month-next").dataset.period = month.next ? month.next.value : "";
    state.period = month.period.value;
  }
  function loadMonth(period) {
    var params = period ? { period: period } : null;
    return api("/accounts/" + state.account + "/month", params).then(renderMonth);
  }

  /* --- the statement -------------------------------------------------------------------------- */
  var STATEMENT_ROWS = [
    ["start", "Долг на начало периода"], ["charged", "Начислено"],
    ["penalties", "Пени"], ["benefits", "Льготы"], ["subsidies", "Субсидии"],
    ["recalculation", "Перерасчёт"], ["paid", "Оплачено"],
    ["adjustment", "Корректировка"], ["end", "Долг на конец периода"],
  ];
  var OVERPAID = { start: "Переплата на начало периода", end: "Переплата на конец периода" };
  function renderStatement(data) {
    var box = $("statement");
    box.textContent = "";
    box.appendChild(el("h2", { text: data.first.text + " — " + data.last.text }));
    var table = el("table", { class: "figures" });
    STATEMENT_ROWS.forEach(function (row) {
      var figure = data[row[0]], label = row[1], text = figure.text;
      var optional = ["adjustment", "penalties", "benefits", "subsidies"];
      if (optional.indexOf(row[0]) >= 0 && figure.value === "0.00") return;
      if (OVERPAID[row[0]] && +figure.value < 0) {  // as the chat says it: no negative debt
        label = OVERPAID[row[0]];
        text = text.replace(/^[-\u2212]/, "");
      }
      table.appendChild(el("tr", { class: row[0] }, [
        el("td", { text: label }), el("td", { class: "num", text: text + "\u00a0₽" }),
      ]));
    });
    box.appendChild(table);
    if (!data.payments.length) return;
    box.appendChild(el("h2", { text: "Платежи" }));
    var list = el("table", { class: "figures payments" });
    data.payments.forEach(function (p) {
      list.appendChild(el("tr", {}, [
        el("td", { text: p.date.text + " · за " + p.period.text }),
        el("td", { class: "num", text: p.amount.text + "\u00a0₽" }),
      ]));
    });
    box.appendChild(list);
  }
  function loadStatement() {
    var from = $("statement-from").value, to = $("statement-to").value;
    if (!from || !to) return Promise.resolve();
    if (from > to) { say("Начало периода позже его конца."); return Promise.resolve(); }
    return api("/accounts/" + state.account + "/statement", { from: from, to: to })
      .then(function (data) { say(""); renderStatement(data); });
  }
  function defaultRange() {
    var last = state.period || $("statement-to").value;
    if (!last) return;
    var year = +last.slice(0, 4), month = +last.slice(5, 7);
    var first = new Date(Date.UTC(year, month - 12, 1));
    if (!$("statement-to").value) $("statement-to").value = last;
    if (!$("statement-from").value) {
      $("statement-from").value = first.getUTCFullYear() + "-" + String(first.getUTCMonth() + 1).padStart(2, "0");
    }
  }

  /* --- charts: inline SVG, values on tap ------------------------------------------------------ */
  var COLORS = ["#2481cc", "#e0803b", "#4caf50", "#9c27b0", "#d14e4e", "#00a3a3", "#8d6e63"];
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    return node;
  }
  function drawChart(box, data, stacked) {
    box.textContent = "";
    if (!data.series.length) { box.appendChild(el("p", { class: "empty", text: "Нет данных." })); return; }
    var n = data.periods.length, W = 340, H = 190, top = 22, bottom = 24, left = 4;
    var totals = data.periods.map(function (_, i) {
      var values = data.series.map(function (s) { return s.values[i] ? +s.values[i].value : 0; });
      return stacked ? values.reduce(function (a, b) { return a + b; }, 0) : Math.max.apply(null, values);
    });
    var max = Math.max.apply(null, totals.concat([1e-9]));
    var step = (W - left) / n, scale = (H - top - bottom) / max;
    var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img" });
    var readout = svg("text", { x: W / 2, y: 14, "text-anchor": "middle", class: "value" });
    chart.appendChild(svg("line", { x1: 0, x2: W, y1: H - bottom, y2: H - bottom, class: "axis" }));
    data.periods.forEach(function (period, i) {
      var base = H - bottom, width = stacked ? step * 0.7 : step * 0.8 / data.series.length;
      data.series.forEach(function (s, k) {
        var item = s.values[i];
        if (!item) return;
        var h = Math.max(+item.value * scale, 0);
        var x = left + i * step + (stacked ? step * 0.15 : step * 0.1 + k * width);
        var y = stacked ? base - h : H - bottom - h;
        var bar = svg("rect", { x: x, y: y, width: width, height: h, fill: COLORS[k % COLORS.length], class: "bar", tabindex: "0" });
        bar.dataset.label = period.text + " · " + s.name + ": " + item.text + (s.unit ? " " + s.unit : "");
        chart.appendChild(bar);
        if (stacked) base -= h;
      });
      if (n <= 12 || (n - 1 - i) % 2 === 0) {
        var label = svg("text", { x: left + i * step + step / 2, y: H - 8, "text-anchor": "middle" });
        label.textContent = period.text.slice(0, 3) + " " + period.value.slice(2, 4);
        chart.appendChild(label);
      }
    });
    chart.appendChild(readout);
    chart.addEventListener("click", function (event) {
      var bar = event.target.closest ? event.target.closest(".bar") : null;
      chart.querySelectorAll(".bar.picked").forEach(function (b) { b.classList.remove("picked"); });
      if (!bar) { readout.textContent = ""; return; }
      bar.classList.add("picked");
      readout.textContent = bar.dataset.label;
    });
    box.appendChild(chart);
    box.appendChild(el("ul", { class: "swatches" }, data.series.map(function (s, k) {
      var swatch = el("i"); swatch.style.background = COLORS[k % COLORS.length];
      return el("li", {}, [swatch, document.createTextNode(s.name)]);
    })));
  }
  function loadCharts() {
    var base = "/accounts/" + state.account + "/charts/", params = { months: String(state.months) };
    return Promise.all([
      api(base + "charges", params).then(function (d) { drawChart($("chart-charges"), d, true); }),
      api(base + "consumption", params).then(function (d) { drawChart($("chart-consumption"), d, false); }),
    ]);
  }

  /* --- receipts: the PDF through a short-lived link, paying ---------------------------------- */
  function canDownload() {
    return !!(tg && tg.downloadFile && tg.isVersionAtLeast && tg.isVersionAtLeast("8.0"));
  }
  function openReceipt(period, button) {
    button.disabled = true;
    return api("/accounts/" + state.account + "/receipt_link", { period: period }, {})
      .then(function (link) {
        var url = new URL(link.url, window.location.href).href;
        if (canDownload()) tg.downloadFile({ url: url, file_name: link.file_name });
        else if (tg && tg.openLink) tg.openLink(url);
        else window.open(url, "_blank");
      })
      .catch(failed)
      .then(function () { button.disabled = false; });
  }
  var PAY_STATUS = {
    paid: "Оплата прошла, спасибо! Она появится в начислениях, когда расчётный центр её проведёт.",
    pending: "Платёж обрабатывается. Когда он пройдёт, бот пришлёт сообщение.",
    cancelled: "Оплата отменена.",
    failed: "Оплата не прошла. Попробуйте ещё раз или оплатите по QR-коду в чате с ботом.",
  };
  var PAY_ERRORS = {
    bad_amount: "Не удалось прочитать сумму. Введите её цифрами, например 1500 или 1500,50.",
    amount_out_of_limits: "Сумма должна быть от {min} до {max}\u00a0₽.",
    payments_off: "Оплата картой сейчас недоступна. Оплатите по QR-коду в чате с ботом.",
    not_sent: "Не удалось отправить сообщение в чат. Откройте чат с ботом и нажмите «💳 Оплатить».",
  };
  function payStatus(text) { var p = $("pay-status"); p.textContent = text; p.hidden = !text; }
  function payFailed(pay, error) {
    var text = PAY_ERRORS[error.code];
    if (!text) { failed(error); return; }
    payStatus(text.replace("{min}", pay.min.text).replace("{max}", pay.max.text));
  }
  function payByInvoice(pay, button) {
    var amount = $("pay-amount").value.trim();
    button.disabled = true;
    payStatus("");
    return api("/accounts/" + state.account + "/invoice", null, { amount: amount })
      .then(function (invoice) {
        tg.openInvoice(invoice.url, function (status) {
          payStatus(PAY_STATUS[status] || "");
          if (status === "paid") loadReceipts().catch(failed);
        });
      })
      .catch(function (error) { payFailed(pay, error); })
      .then(function () { button.disabled = false; });
  }
  function payInChat(pay, button) {
    button.disabled = true;
    payStatus("");
    return api("/accounts/" + state.account + "/pay_in_chat", null, {})
      .then(function () {
        payStatus("Способы оплаты отправлены в чат с ботом.");
        if (tg && tg.close) tg.close();
      })
      .catch(function (error) { payFailed(pay, error); })
      .then(function () { button.disabled = false; });
  }
  function renderPay(pay) {
    var box = $("pay");
    box.hidden = !pay;
    if (!pay) return;
    var due = +pay.due.value > 0;
    $("pay-due").textContent = due
      ? "К оплате: " + pay.due.text + "\u00a0₽" + (pay.period ? " (по данным за " + pay.period.text + ")" : "")
      : "Задолженности нет — можно внести любую сумму заранее.";
    $("pay-pending").hidden = !(+pay.pending.value > 0);
    $("pay-pending").textContent = "Оплачено через бот " + pay.pending.text + "\u00a0₽ — в обработке.";
    var byInvoice = pay.mode === "invoice" && !!(tg && tg.openInvoice);
    $("pay-amount-label").hidden = !byInvoice;
    $("pay-amount").value = due ? pay.due.value.replace(".", ",") : "";
    $("pay-hint").textContent = byInvoice
      ? "Сумма от " + pay.min.text + " до " + pay.max.text + "\u00a0₽."
      : "Бот пришлёт в чат способы оплаты: QR-код для приложения банка" +
        (pay.mode === "invoice" ? " и оплату картой." : ".");
    var button = $("pay-button");
    button.onclick = function () { return byInvoice ? payByInvoice(pay, button) : payInChat(pay, button); };
  }
  function loadReceipts() {
    return api("/accounts/" + state.account + "/receipts").then(function (data) {
      renderPay(data.pay);
      var list = $("receipts");
      list.textContent = "";
      if (!data.periods.length) list.appendChild(el("li", { text: "Квитанций пока нет." }));
      data.periods.forEach(function (period) {
        var button = el("button", { type: "button", text: "Открыть PDF" });
        button.addEventListener("click", function () { openReceipt(period.value, button); });
        list.appendChild(el("li", {}, [el("span", { text: period.text }), button]));
      });
    });
  }

  /* --- navigation ----------------------------------------------------------------------------- */
  var LOADERS = {
    month: function () { return loadMonth(state.period); },
    statement: function () { defaultRange(); return loadStatement(); },
    charts: loadCharts,
    receipts: loadReceipts,
  };
  function show(tab, period, fromBack) {
    if (!fromBack && (tab !== state.tab || period !== state.period)) {
      history.push({ tab: state.tab, period: state.period });
      updateBack();
    }
    state.tab = tab;
    if (period !== undefined) state.period = period;
    document.querySelectorAll(".tabs button").forEach(function (b) {
      b.classList.toggle("active", b.dataset.tab === tab);
    });
    document.querySelectorAll(".tab").forEach(function (s) { s.hidden = s.id !== "tab-" + tab; });
    say("");
    return LOADERS[tab]().catch(failed);
  }
  function chooseAccount(id) {
    state.account = id;
    state.period = null;
    payStatus("");
    history.length = 0;
    updateBack();
    $("statement-from").value = "";
    $("statement-to").value = "";
    return show(state.tab, null, true);
  }
  function fillAccounts(accounts) {
    var select = $("account");
    select.textContent = "";
    accounts.forEach(function (a) {
      select.appendChild(el("option", { value: String(a.id), text: "л/с № " + a.number + " · " + a.address }));
    });
    select.hidden = accounts.length < 2;
  }
  function bind() {
    document.querySelectorAll(".tabs button").forEach(function (b) {
      b.addEventListener("click", function () { show(b.dataset.tab); });
    });
    ["month-prev", "month-next"].forEach(function (id) {
      $(id).addEventListener("click", function () { if (this.dataset.period) show("month", this.dataset.period); });
    });
    $("account").addEventListener("change", function () { chooseAccount(+this.value); });
    $("statement-form").addEventListener("submit", function (event) {
      event.preventDefault(); loadStatement().catch(failed);
    });
    document.querySelectorAll(".spans button").forEach(function (b) {
      b.addEventListener("click", function () {
        state.months = +b.dataset.months;
        document.querySelectorAll(".spans button").forEach(function (x) { x.classList.toggle("active", x === b); });
        loadCharts().catch(failed);
      });
    });
  }
  function start() {
    bind();
    if (!tg || !tg.initData) { say("Откройте таблицу из бота: кнопка «📋 Таблица» в карточке счёта."); return; }
    tg.ready();
    tg.expand();
    applyTheme();
    tg.onEvent("themeChanged", applyTheme);
    if (tg.BackButton) tg.BackButton.onClick(goBack);
    var query = new URLSearchParams(window.location.search);
    api("/accounts").then(function (data) {
      state.accounts = data.accounts;
      if (!data.accounts.length) { say("Лицевые счета пока не привязаны. Привяжите счёт в боте: «🏠 Мои счета»."); return; }
      fillAccounts(data.accounts);
      var wanted = +query.get("account");
      var found = data.accounts.some(function (a) { return a.id === wanted; });
      state.account = found ? wanted : data.accounts[0].id;
      $("account").value = String(state.account);
      var period = query.get("period");
      state.period = found && /^\d{4}-\d{2}$/.test(period || "") ? period : null;
      return show("month", state.period, true);
    }).catch(failed);
  }
  document.addEventListener("DOMContentLoaded", start);
})();

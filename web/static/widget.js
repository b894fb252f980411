/*
 * Keen assistant web widget.
 *
 *   <script src="https://keen.example.com/widget.js"
 *           data-token-url="/keen/widget-token"      (your app: returns {"token": "..."})
 *           data-channel-id="ch-atlas"               (optional page context)
 *           async></script>
 *
 * Optional attributes: data-api-url (default: where this script comes from), data-token (a
 * short-lived widget token rendered into the page instead of data-token-url), data-title,
 * data-suggestions ("question one|question two"), data-position ("left" or "right").
 *
 * Never put an API key in a page: the token URL returns a short-lived staff token.
 * Everything is drawn inside a Shadow DOM; nothing is loaded from anywhere else.
 */
(function () {
  "use strict";
  if (window.KeenWidget) return;

  var script =
    document.currentScript || document.querySelector('script[src*="widget.js"]') || null;
  var attr = function (name, fallback) {
    var value = script && script.getAttribute("data-" + name);
    return value === null || value === undefined || value === "" ? fallback : value;
  };
  var scriptOrigin = (function () {
    try {
      return new URL(script.src, location.href).origin;
    } catch (e) {
      return location.origin;
    }
  })();

  var config = {
    apiUrl: attr("api-url", scriptOrigin).replace(/\/+$/, ""),
    tokenUrl: attr("token-url", null),
    token: attr("token", null),
    channelId: attr("channel-id", null),
    title: attr("title", "Keen assistant"),
    position: attr("position", "right") === "left" ? "left" : "right",
    suggestions: attr("suggestions", null),
  };
  var THREAD_KEY = "keen-widget:thread:" + config.apiUrl;
  var DEFAULT_SUGGESTIONS = [
    "Which reward reports need attention?",
    "Which leads are stuck?",
    "Show the lead funnel",
    "Which channel has the best conversion rate?",
  ];

  /* ------------------------------------------------------------------ markdown (safe) */

  function esc(text) {
    return String(text)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  var NUMERIC = /^[-+]?(?:[A-Z]{3}\s)?[\d,]*\.?\d+\s?%?$/;

  // `text` is ALREADY escaped: only our own tags are added here.
  function inline(text) {
    var codes = [];
    text = text.replace(/`([^`]+)`/g, function (_, code) {
      codes.push("<code>" + code + "</code>");
      return "\u0000" + (codes.length - 1) + "\u0000";
    });
    // images are never loaded: keep the alt text only
    text = text.replace(/!\[([^\]]*)\]\(([^)]*)\)/g, "$1");
    text = text.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, function (_, label, url) {
      if (/^https?:\/\//i.test(url)) {
        return '<a href="' + url + '" target="_blank" rel="noopener noreferrer">' + label + "</a>";
      }
      return label;
    });
    text = text.replace(/\*\*([^*]+?)\*\*/g, "<strong>$1</strong>");
    text = text.replace(/__([^_]+?)__/g, "<strong>$1</strong>");
    text = text.replace(/(^|[^*\w])\*([^*\s][^*]*?)\*(?!\*)/g, "$1<em>$2</em>");
    return text.replace(/\u0000(\d+)\u0000/g, function (_, i) {
      return codes[Number(i)];
    });
  }

  function splitRow(line) {
    var body = line.trim().replace(/^\|/, "").replace(/\|$/, "");
    var cells = [];
    var cell = "";
    for (var i = 0; i < body.length; i++) {
      var ch = body.charAt(i);
      if (ch === "\\" && body.charAt(i + 1) === "|") {
        cell += "|";
        i += 1;
      } else if (ch === "|") {
        cells.push(cell.trim());
        cell = "";
      } else {
        cell += ch;
      }
    }
    cells.push(cell.trim());
    return cells;
  }

  function isTableSeparator(line) {
    return /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(line);
  }

  // "conversion_rate_pct" reads better as "conversion rate %"
  function columnLabel(name) {
    if (!/^[a-z0-9_]+$/.test(name)) return name;
    return name.replace(/_pct$/, " %").replace(/_/g, " ");
  }

  function tableHtml(header, rows) {
    var html = '<div class="table-wrap" tabindex="0"><table><thead><tr>';
    header.forEach(function (cell) {
      html += '<th scope="col">' + inline(esc(columnLabel(cell))) + "</th>";
    });
    html += "</tr></thead><tbody>";
    rows.forEach(function (row) {
      html += "<tr>";
      header.forEach(function (_, i) {
        var cell = row[i] === undefined ? "" : row[i];
        var cls = NUMERIC.test(cell) ? ' class="num"' : "";
        html += "<td" + cls + ">" + inline(esc(cell)) + "</td>";
      });
      html += "</tr>";
    });
    return html + "</tbody></table></div>";
  }

  function listHtml(lines, start) {
    // lines[start] is a list item; nested items are indented by two or more spaces
    var ordered = /^\s*\d+[.)]\s+/.test(lines[start]);
    var indent = lines[start].match(/^\s*/)[0].length;
    var html = ordered ? "<ol>" : "<ul>";
    var i = start;
    while (i < lines.length) {
      var line = lines[i];
      var match = line.match(/^(\s*)([-*+]|\d+[.)])\s+(.*)$/);
      if (!match) break;
      var depth = match[1].length;
      if (depth < indent) break;
      if (depth > indent) {
        var nested = listHtml(lines, i);
        html = html.replace(/<\/li>$/, "") + nested.html + "</li>";
        i = nested.next;
        continue;
      }
      html += "<li>" + inline(esc(match[3])) + "</li>";
      i += 1;
    }
    return { html: html + (ordered ? "</ol>" : "</ul>"), next: i };
  }

  function renderMarkdown(source) {
    var lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
    var out = [];
    var paragraph = [];
    var flush = function () {
      if (paragraph.length) out.push("<p>" + paragraph.map(inline).join("<br>") + "</p>");
      paragraph = [];
    };
    var i = 0;
    while (i < lines.length) {
      var line = lines[i];
      if (/^\s*```/.test(line)) {
        flush();
        var code = [];
        i += 1;
        while (i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i++]);
        out.push("<pre><code>" + esc(code.join("\n")) + "</code></pre>");
        i += 1;
        continue;
      }
      if (/^\s*\|/.test(line) && i + 1 < lines.length && isTableSeparator(lines[i + 1])) {
        flush();
        var header = splitRow(line);
        var rows = [];
        i += 2;
        while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(splitRow(lines[i++]));
        out.push(tableHtml(header, rows));
        continue;
      }
      var heading = line.match(/^(#{1,6})\s+(.*)$/);
      if (heading) {
        flush();
        var level = Math.min(heading[1].length + 2, 6);
        out.push("<h" + level + ">" + inline(esc(heading[2])) + "</h" + level + ">");
        i += 1;
        continue;
      }
      if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
        flush();
        var list = listHtml(lines, i);
        out.push(list.html);
        i = list.next;
        continue;
      }
      if (/^\s*(-{3,}|\*{3,}|_{3,})\s*$/.test(line)) {
        flush();
        out.push("<hr>");
        i += 1;
        continue;
      }
      if (/^\s*>\s?/.test(line)) {
        flush();
        var quote = [];
        while (i < lines.length && /^\s*>\s?/.test(lines[i])) {
          quote.push(inline(esc(lines[i++].replace(/^\s*>\s?/, ""))));
        }
        out.push("<blockquote>" + quote.join("<br>") + "</blockquote>");
        continue;
      }
      if (!line.trim()) {
        flush();
      } else {
        paragraph.push(esc(line));
      }
      i += 1;
    }
    flush();
    return out.join("");
  }

  function markdownTableRows(source) {
    var lines = String(source || "").split("\n");
    var most = 0;
    for (var i = 0; i + 1 < lines.length; i++) {
      if (/^\s*\|/.test(lines[i]) && isTableSeparator(lines[i + 1])) {
        var count = 0;
        for (var j = i + 2; j < lines.length && /^\s*\|/.test(lines[j]); j++) count++;
        most = Math.max(most, count);
      }
    }
    return most;
  }

  /* ------------------------------------------------------------------ charts (inline SVG) */

  var SVG = "http://www.w3.org/2000/svg";

  function svgEl(name, attrs, text) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) {
      el.setAttribute(key, attrs[key]);
    });
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function toNumber(value) {
    if (typeof value === "number") return value;
    var n = parseFloat(String(value === null || value === undefined ? "" : value).replace(/,/g, ""));
    return isFinite(n) ? n : null;
  }

  // bars need short labels ("441.3K"); the table beside them keeps the exact figures
  function compactMoney(value) {
    if (Math.abs(value) < 10000) return formatNumber(value, 0);
    return value.toLocaleString("en-US", { notation: "compact", maximumFractionDigits: 1 });
  }

  function formatNumber(value, decimals) {
    return value.toLocaleString("en-US", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
  }

  // bars: [{label, value, text, tone, group}]
  function barChart(title, bars) {
    var labelWidth = 118;
    var barArea = 140;
    var valueWidth = 96;
    var rowHeight = 24;
    var groups = [];
    bars.forEach(function (bar) {
      if (groups.indexOf(bar.group) < 0) groups.push(bar.group);
    });
    var height = 8;
    var items = [];
    groups.forEach(function (group) {
      if (groups.length > 1) {
        items.push({ heading: group, y: height });
        height += 20;
      }
      var inGroup = bars.filter(function (b) {
        return b.group === group;
      });
      var max = Math.max.apply(
        null,
        inGroup.map(function (b) {
          return Math.abs(b.value);
        }).concat([0])
      );
      inGroup.forEach(function (bar) {
        items.push({ bar: bar, y: height, max: max });
        height += rowHeight;
      });
    });
    var width = labelWidth + barArea + valueWidth;
    var svg = svgEl("svg", {
      viewBox: "0 0 " + width + " " + (height + 4),
      width: "100%",
      role: "img",
      "aria-label":
        title +
        ": " +
        bars
          .map(function (b) {
            return b.label + " " + b.text;
          })
          .join(", "),
      class: "chart",
    });
    svg.appendChild(svgEl("title", {}, title));
    items.forEach(function (item) {
      if (item.heading !== undefined) {
        svg.appendChild(
          svgEl("text", { x: 0, y: item.y + 13, class: "chart-group" }, item.heading)
        );
        return;
      }
      var bar = item.bar;
      var label = bar.label.length > 18 ? bar.label.slice(0, 17) + "…" : bar.label;
      svg.appendChild(svgEl("text", { x: 0, y: item.y + 16, class: "chart-label" }, label));
      var w = item.max > 0 ? Math.max(2, (Math.abs(bar.value) / item.max) * barArea) : 2;
      svg.appendChild(
        svgEl("rect", {
          x: labelWidth,
          y: item.y + 4,
          width: w.toFixed(1),
          height: rowHeight - 9,
          rx: 4,
          class: "bar " + (bar.tone || ""),
        })
      );
      svg.appendChild(
        svgEl("text", { x: labelWidth + w + 6, y: item.y + 16, class: "chart-value" }, bar.text)
      );
    });
    var figure = document.createElement("figure");
    figure.className = "chart-figure";
    var caption = document.createElement("figcaption");
    caption.textContent = title;
    figure.appendChild(caption);
    figure.appendChild(svg);
    return figure;
  }

  function column(table, name) {
    return table.columns.indexOf(name);
  }

  function funnelChart(table) {
    var status = column(table, "status");
    var leads = column(table, "leads");
    var kind = column(table, "kind");
    if (status < 0 || leads < 0 || !table.rows.length) return null;
    var bars = table.rows.map(function (row) {
      var n = toNumber(row[leads]) || 0;
      return {
        label: String(row[status]),
        value: n,
        text: formatNumber(n, 0),
        tone: kind >= 0 ? String(row[kind]) : "open",
        group: "",
      };
    });
    return barChart(table.title || "Lead funnel", bars);
  }

  var MONEY_METRICS = ["revenue", "average_deal_size", "reward_total", "net_value"];

  function rankingChart(table, rankBy) {
    var name = column(table, "name");
    if (name < 0 || !rankBy) return null;
    var metric = column(table, rankBy) >= 0 ? rankBy : rankBy + "_pct";
    var value = column(table, metric);
    if (value < 0) return null;
    var currency = column(table, "currency");
    var money = MONEY_METRICS.indexOf(metric) >= 0;
    var pct = /_pct$/.test(metric);
    var bars = [];
    table.rows.slice(0, 12).forEach(function (row) {
      var n = toNumber(row[value]);
      if (n === null) return;
      var cur = currency >= 0 ? String(row[currency]) : "";
      bars.push({
        label: String(row[name]),
        value: n,
        text: money ? cur + " " + compactMoney(n) : formatNumber(n, pct ? 1 : 0) + (pct ? "%" : ""),
        tone: "rank",
        group: money ? cur : "",
      });
    });
    if (!bars.length) return null;
    return barChart(table.title || "Ranking by " + metric.replace(/_/g, " "), bars);
  }

  function chartsFor(answer) {
    var charts = [];
    var rankBy = null;
    (answer.tool_calls || []).forEach(function (call) {
      if (call.name === "channel_performance" && call.args && call.args.rank_by) {
        rankBy = String(call.args.rank_by);
      }
    });
    (answer.data || []).forEach(function (table) {
      if (!table || !table.columns) return;
      var chart = null;
      if (column(table, "status") >= 0 && column(table, "leads") >= 0) chart = funnelChart(table);
      else if (rankBy && column(table, "rank") >= 0) chart = rankingChart(table, rankBy);
      if (chart) charts.push(chart);
    });
    return charts.slice(0, 2);
  }

  /* ------------------------------------------------------------------ data tables (DOM) */

  function cellText(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (Array.isArray(value)) return value.map(cellText).join("; ");
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function fullTable(table) {
    var details = document.createElement("details");
    details.className = "full-table";
    var summary = document.createElement("summary");
    summary.textContent =
      "All " + table.rows.length + " rows" + (table.title ? ": " + table.title : "");
    details.appendChild(summary);
    details.appendChild(dataTable(table));
    return details;
  }

  // a table of answer data, drawn with DOM text nodes only (cells are never parsed as HTML)
  function dataTable(table) {
    var wrap = document.createElement("div");
    wrap.className = "table-wrap";
    wrap.tabIndex = 0;
    var el = document.createElement("table");
    var head = el.createTHead().insertRow();
    table.columns.forEach(function (name) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = columnLabel(name);
      head.appendChild(th);
    });
    var body = el.createTBody();
    table.rows.slice(0, 300).forEach(function (row) {
      var tr = body.insertRow();
      row.forEach(function (value) {
        var td = tr.insertCell();
        td.textContent = cellText(value);
        if (typeof value === "number" || NUMERIC.test(td.textContent)) td.className = "num";
      });
    });
    wrap.appendChild(el);
    return wrap;
  }

  /* ------------------------------------------------------------------ API */

  var cachedToken = null; // {token, expiresAt (ms)}

  function getToken(force) {
    if (!force && cachedToken && cachedToken.expiresAt - 30000 > Date.now()) {
      return Promise.resolve(cachedToken.token);
    }
    if (!config.tokenUrl) {
      if (config.token) return Promise.resolve(config.token);
      return Promise.reject(new Error("The widget has no data-token-url."));
    }
    return fetch(config.tokenUrl, { credentials: "same-origin", cache: "no-store" }).then(
      function (res) {
        if (!res.ok) {
          return res
            .json()
            .catch(function () {
              return {};
            })
            .then(function (body) {
              throw new Error(body.error || "Could not sign you in to the assistant.");
            });
        }
        return res.json().then(function (body) {
          var expiresAt = body.expires_at ? body.expires_at * 1000 : Date.now() + 10 * 60000;
          cachedToken = { token: body.token, expiresAt: expiresAt };
          return body.token;
        });
      }
    );
  }

  function apiFetch(path, options, retried) {
    return getToken(retried).then(function (token) {
      var opts = Object.assign({}, options);
      opts.headers = Object.assign({}, opts.headers, { Authorization: "Bearer " + token });
      return fetch(config.apiUrl + path, opts).then(function (res) {
        if (res.status === 401 && !retried && config.tokenUrl) {
          cachedToken = null;
          return apiFetch(path, options, true);
        }
        return res;
      });
    });
  }

  function errorFrom(res) {
    return res
      .json()
      .catch(function () {
        return {};
      })
      .then(function (body) {
        var message = body.error || "The assistant is unavailable (" + res.status + ").";
        if (res.status === 429) {
          var wait = res.headers.get("Retry-After");
          message = "Too many questions at once" + (wait ? "; try again in " + wait + " s." : ".");
        }
        throw new Error(message);
      });
  }

  // Reads server-sent events from a fetch response body and calls onEvent(name, data).
  function readEvents(res, onEvent) {
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function dispatch(block) {
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      });
      if (data.length) onEvent(name, data.join("\n"));
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          if (buffer.trim()) dispatch(buffer);
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        var keep = buffer.slice(-1) === "\r" ? "\r" : "";
        if (keep) buffer = buffer.slice(0, -1);
        buffer = buffer.replace(/\r\n?/g, "\n");
        var index;
        while ((index = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, index));
          buffer = buffer.slice(index + 2);
        }
        buffer += keep;
        return pump();
      });
    }
    return pump();
  }

  /* ------------------------------------------------------------------ styles */

  var CSS = [
    ":host{all:initial}",
    "*,*::before,*::after{box-sizing:border-box}",
    ".root{--accent:#4f46e5;--accent-dark:#4338ca;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;",
    "--soft:#f5f6fa;font-family:ui-sans-serif,system-ui,-apple-system,'Segoe UI',Roboto,",
    "'Helvetica Neue',Arial,sans-serif;font-size:14px;line-height:1.5;color:var(--ink);",
    "-webkit-font-smoothing:antialiased}",
    ".launcher{position:fixed;bottom:20px;right:20px;z-index:2147483000;width:56px;height:56px;",
    "border-radius:50%;border:0;background:var(--accent);color:#fff;cursor:pointer;display:flex;",
    "align-items:center;justify-content:center;box-shadow:0 8px 24px rgba(79,70,229,.35),",
    "0 2px 6px rgba(0,0,0,.12);transition:transform .15s ease,background .15s ease}",
    ".left .launcher,.left .panel{right:auto;left:20px}",
    ".launcher:hover{background:var(--accent-dark);transform:translateY(-1px)}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,summary:focus-visible,",
    ".table-wrap:focus-visible,.log:focus-visible{outline:3px solid #a5b4fc;outline-offset:2px}",
    ".launcher svg{width:26px;height:26px}",
    ".panel{position:fixed;bottom:88px;right:20px;z-index:2147483001;width:420px;",
    "max-width:calc(100vw - 40px);height:min(640px,calc(100vh - 112px));background:#fff;",
    "border-radius:16px;box-shadow:0 24px 60px rgba(17,24,39,.22),0 4px 14px rgba(17,24,39,.08);",
    "display:flex;flex-direction:column;overflow:hidden;border:1px solid var(--line)}",
    ".panel[hidden]{display:none}",
    ".panel.wide{width:760px;height:min(760px,calc(100vh - 112px))}",
    ".head{display:flex;align-items:center;gap:10px;padding:14px 14px 14px 18px;",
    "background:linear-gradient(135deg,#4f46e5,#6366f1 60%,#818cf8);color:#fff}",
    ".head h2{margin:0;font-size:15px;font-weight:650;letter-spacing:.01em}",
    ".head p{margin:1px 0 0;font-size:12px;opacity:.85}",
    ".head .titles{flex:1;min-width:0}",
    ".icon-btn{width:32px;height:32px;border-radius:8px;border:0;background:rgba(255,255,255,.14);",
    "color:#fff;cursor:pointer;display:flex;align-items:center;justify-content:center}",
    ".icon-btn:hover{background:rgba(255,255,255,.26)}",
    ".icon-btn svg{width:16px;height:16px}",
    ".log{flex:1;overflow-y:auto;padding:18px 16px 8px;background:#fbfbfd;",
    "scroll-behavior:smooth}",
    ".msg{margin:0 0 14px;display:flex;flex-direction:column}",
    ".msg.user{align-items:flex-end}",
    ".bubble{max-width:88%;padding:10px 14px;border-radius:14px;overflow-wrap:anywhere}",
    ".user .bubble{background:var(--accent);color:#fff;border-bottom-right-radius:4px;",
    "white-space:pre-wrap}",
    ".bot .bubble{background:#fff;border:1px solid var(--line);border-bottom-left-radius:4px;",
    "max-width:100%;box-shadow:0 1px 2px rgba(17,24,39,.04)}",
    ".who{font-size:11px;font-weight:600;color:var(--muted);margin:0 4px 4px;",
    "text-transform:uppercase;letter-spacing:.06em}",
    ".bubble p{margin:0 0 8px}.bubble p:last-child{margin-bottom:0}",
    ".bubble h3,.bubble h4,.bubble h5,.bubble h6{margin:10px 0 6px;font-size:14px}",
    ".bubble ul,.bubble ol{margin:4px 0 8px;padding-left:20px}.bubble li{margin:2px 0}",
    ".bubble code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;",
    "font-size:12.5px;background:#eef0f6;border-radius:4px;padding:1px 4px}",
    ".bubble pre{background:#111827;color:#e5e7eb;padding:10px 12px;border-radius:8px;",
    "overflow-x:auto;margin:6px 0}.bubble pre code{background:none;padding:0;color:inherit}",
    ".bubble blockquote{margin:6px 0;padding:2px 10px;border-left:3px solid #c7d2fe;",
    "color:#374151}",
    ".bubble hr{border:0;border-top:1px solid var(--line);margin:10px 0}",
    ".bubble a{color:var(--accent-dark);text-decoration:underline}",
    ".table-wrap{overflow-x:auto;margin:8px 0;border:1px solid var(--line);border-radius:8px;",
    "max-height:320px;overflow-y:auto}",
    "table{border-collapse:collapse;width:100%;font-size:12.5px;",
    "font-variant-numeric:tabular-nums}",
    "th,td{padding:6px 10px;text-align:left;white-space:nowrap;",
    "border-bottom:1px solid #eef0f4}",
    "th{position:sticky;top:0;background:#f3f4f8;font-weight:600;color:#374151;z-index:1}",
    "tbody tr:nth-child(even) td{background:#fafbfc}",
    "tbody tr:hover td{background:#eef2ff}",
    "td.num{text-align:right}",
    "tbody tr:last-child td{border-bottom:0}",
    ".step{display:flex;align-items:center;gap:8px;color:var(--muted);font-size:13px;",
    "padding:2px 2px 8px}",
    ".dots{display:inline-flex;gap:3px}.dots i{width:6px;height:6px;border-radius:50%;",
    "background:#a5b4fc;animation:blink 1.2s infinite ease-in-out}",
    ".dots i:nth-child(2){animation-delay:.2s}.dots i:nth-child(3){animation-delay:.4s}",
    "@keyframes blink{0%,80%,100%{opacity:.25}40%{opacity:1}}",
    ".note{margin-top:8px;font-size:12px;color:#92400e;background:#fffbeb;",
    "border:1px solid #fde68a;border-radius:8px;padding:6px 10px}",
    ".error .bubble{background:#fef2f2;border-color:#fecaca;color:#991b1b}",
    ".chart-figure{margin:10px 0 4px}",
    ".chart-figure figcaption{font-size:12px;font-weight:600;color:#374151;margin-bottom:4px}",
    ".chart{display:block;max-width:100%;height:auto}",
    ".chart-label{font-size:12px;fill:#374151}",
    ".chart-value{font-size:12px;fill:#111827;font-weight:600;font-variant-numeric:tabular-nums}",
    ".chart-group{font-size:11px;font-weight:700;fill:#6b7280}",
    ".bar{fill:#6366f1}.bar.won{fill:#10b981}.bar.lost{fill:#cbd5e1}.bar.rank{fill:#6366f1}",
    ".action-card{margin-top:8px;border:1px solid #c7d2fe;border-radius:10px;",
    "background:#f8f9ff;padding:10px 12px}",
    ".card-kicker{font-size:11px;font-weight:700;text-transform:uppercase;",
    "letter-spacing:.06em;color:var(--accent-dark);margin-bottom:4px}",
    ".action-card caption{text-align:left;font-size:12px;font-weight:600;color:#374151;",
    "padding:6px 10px 2px}",
    ".card-hint{font-size:13px;color:#374151}",
    ".card-buttons{display:flex;gap:8px;margin-top:10px}",
    ".decide{font:inherit;font-size:13px;font-weight:600;border-radius:8px;padding:7px 16px;",
    "cursor:pointer;border:1px solid transparent}",
    ".decide.approve{background:#047857;color:#fff}",
    ".decide.approve:hover{background:#065f46}",
    ".decide.reject{background:#fff;color:#991b1b;border-color:#fecaca}",
    ".decide.reject:hover{background:#fef2f2}",
    ".decide:disabled{opacity:.55;cursor:default}",
    ".card-status{margin-top:8px;font-size:13px;font-weight:500;color:#065f46}",
    ".card-status.failed{color:#991b1b}",
    ".full-table{margin-top:8px;font-size:13px}",
    ".full-table summary{cursor:pointer;color:var(--accent-dark);font-weight:500}",
    ".empty{padding:6px 2px 4px}",
    ".empty h3{margin:0 0 4px;font-size:16px}",
    ".empty p{margin:0 0 12px;color:var(--muted);font-size:13px}",
    ".suggestions{display:flex;flex-direction:column;gap:8px}",
    ".suggestion{text-align:left;border:1px solid #dfe3ee;background:#fff;border-radius:10px;",
    "padding:9px 12px;font:inherit;font-size:13px;color:var(--ink);cursor:pointer;",
    "transition:border-color .15s,background .15s}",
    ".suggestion:hover{border-color:var(--accent);background:#f5f5ff}",
    ".composer{display:flex;gap:8px;align-items:flex-end;padding:10px 12px 12px;",
    "border-top:1px solid var(--line);background:#fff}",
    ".composer textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:10px;",
    "padding:9px 12px;font:inherit;font-size:14px;line-height:1.4;max-height:120px;",
    "min-height:40px;color:var(--ink);background:#fff}",
    ".composer textarea:focus{border-color:var(--accent)}",
    ".send{width:40px;height:40px;border-radius:10px;border:0;background:var(--accent);",
    "color:#fff;cursor:pointer;display:flex;align-items:center;justify-content:center;",
    "flex:none}",
    ".send:disabled{background:#c7c9d9;cursor:default}.send svg{width:18px;height:18px}",
    ".foot{font-size:11px;color:var(--muted);text-align:center;padding:0 12px 8px;",
    "background:#fff}",
    ".sr{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;",
    "clip:rect(0,0,0,0);white-space:nowrap;border:0}",
    "@media (max-width:480px){.panel,.left .panel{inset:0;width:100vw;max-width:none;",
    "height:100vh;height:100dvh;border-radius:0;border:0}",
    ".root.open .launcher{display:none}.bubble{max-width:92%}.foot,.expand{display:none}}",
    "@media (prefers-reduced-motion:reduce){.dots i{animation:none}.log{scroll-behavior:auto}",
    ".launcher{transition:none}}",
  ].join("");

  var ICONS = {
    chat:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" ' +
      'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 12a8 8 0 0 ' +
      '1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>',
    close:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.4" ' +
      'stroke-linecap="round" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>',
    reset:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" ' +
      'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M12 5v14M5 ' +
      '12h14"/></svg>',
    expand:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" ' +
      'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M15 3h6v6M9 ' +
      '21H3v-6M21 3l-7 7M3 21l7-7"/></svg>',
    send:
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" ' +
      'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M5 12h14M13 ' +
      '6l6 6-6 6"/></svg>',
  };

  /* ------------------------------------------------------------------ the widget */

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") el.textContent = attrs[key];
      else if (key === "html") el.innerHTML = attrs[key]; // only our own constant icons
      else el.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      el.appendChild(child);
    });
    return el;
  }

  var host = document.createElement("div");
  host.id = "keen-widget";
  var shadow = host.attachShadow({ mode: "open" });
  var style = document.createElement("style");
  style.textContent = CSS;
  shadow.appendChild(style);

  var root = h("div", { class: "root" + (config.position === "left" ? " left" : "") });
  var launcher = h("button", {
    type: "button",
    class: "launcher",
    "aria-label": "Open " + config.title,
    "aria-expanded": "false",
    "aria-controls": "keen-panel",
    html: ICONS.chat,
  });
  var live = h("div", { class: "sr", "aria-live": "polite", "aria-atomic": "true" });
  var log = h("div", { class: "log", tabindex: "0", "aria-label": "Conversation" });
  var input = h("textarea", {
    rows: "1",
    placeholder: "Ask about leads, channels, rewards…",
    "aria-label": "Your question",
    maxlength: "4000",
  });
  var send = h("button", { type: "submit", class: "send", "aria-label": "Send", html: ICONS.send });
  var form = h("form", { class: "composer" }, [input, send]);
  var resetBtn = h("button", {
    type: "button",
    class: "icon-btn",
    "aria-label": "New conversation",
    title: "New conversation",
    html: ICONS.reset,
  });
  var expandBtn = h("button", {
    type: "button",
    class: "icon-btn expand",
    "aria-label": "Wider panel",
    "aria-pressed": "false",
    title: "Wider panel (for big tables)",
    html: ICONS.expand,
  });
  var closeBtn = h("button", {
    type: "button",
    class: "icon-btn",
    "aria-label": "Close assistant",
    title: "Close (Esc)",
    html: ICONS.close,
  });
  var heading = h("h2", { id: "keen-title", text: config.title });
  var panel = h(
    "section",
    { id: "keen-panel", class: "panel", role: "dialog", "aria-labelledby": "keen-title" },
    [
      h("header", { class: "head" }, [
        h("div", { class: "titles" }, [
          heading,
          h("p", { text: "Answers from your partnership data" }),
        ]),
        resetBtn,
        expandBtn,
        closeBtn,
      ]),
      log,
      form,
      h("div", { class: "foot", text: "Enter to send · Shift+Enter for a new line · Esc to close" }),
    ]
  );
  panel.hidden = true;
  root.appendChild(launcher);
  root.appendChild(panel);
  root.appendChild(live);
  shadow.appendChild(root);

  var state = {
    threadId: null,
    busy: false,
    loaded: false,
    turns: 0,
  };
  try {
    state.threadId = localStorage.getItem(THREAD_KEY);
  } catch (e) {
    state.threadId = null;
  }

  function saveThread(id) {
    state.threadId = id;
    try {
      if (id) localStorage.setItem(THREAD_KEY, id);
      else localStorage.removeItem(THREAD_KEY);
    } catch (e) {
      /* storage may be blocked: the thread then lasts for this page only */
    }
  }

  function announce(text) {
    live.textContent = "";
    setTimeout(function () {
      live.textContent = text;
    }, 50);
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  // a long answer is shown from its start; a short one keeps the log at the bottom
  function revealAnswer(msg) {
    if (msg.isConnected && msg.offsetHeight > log.clientHeight) {
      log.scrollTop = msg.offsetTop - log.offsetTop - 8;
    } else {
      scrollDown();
    }
  }

  function addMessage(role, label) {
    var bubble = h("div", { class: "bubble" });
    var msg = h("div", { class: "msg " + role }, [
      h("div", { class: "who", text: label }),
      bubble,
    ]);
    var empty = log.querySelector(".empty");
    if (empty) empty.remove();
    log.appendChild(msg);
    state.turns += 1;
    scrollDown();
    return { msg: msg, bubble: bubble };
  }

  function addUser(text) {
    addMessage("user", "You").bubble.textContent = text;
  }

  function addError(text) {
    var m = addMessage("bot error", "Assistant");
    m.bubble.setAttribute("role", "alert");
    m.bubble.textContent = text;
  }

  function suggestions() {
    var list = config.suggestions
      ? config.suggestions.split("|").map(function (s) {
          return s.trim();
        })
      : DEFAULT_SUGGESTIONS.slice();
    if (!config.suggestions && config.channelId) list.unshift("How is this channel performing?");
    return list.filter(Boolean).slice(0, 5);
  }

  function showEmpty() {
    log.textContent = "";
    state.turns = 0;
    var buttons = suggestions().map(function (q) {
      var b = h("button", { type: "button", class: "suggestion", text: q });
      b.addEventListener("click", function () {
        ask(q);
      });
      return b;
    });
    log.appendChild(
      h("div", { class: "empty" }, [
        h("h3", { text: "Hi! What would you like to know?" }),
        h("p", {
          text: "I answer from your Keen data: leads, channels, partners, rewards and reports.",
        }),
        h("div", { class: "suggestions", role: "group", "aria-label": "Suggested questions" }, buttons),
      ])
    );
  }

  var APPROVAL_TABLE = "Waiting for your approval";

  function renderAnswer(target, answer) {
    var pendingAction = answer.pending_action || null;
    var text = String(answer.answer || "");
    var rest = text;
    if (pendingAction && text.indexOf(pendingAction.summary) === 0) {
      // the card shows the summary; the bubble keeps only what follows it
      rest = text.slice(pendingAction.summary.length).replace(/^\s+/, "");
    }
    target.bubble.innerHTML = pendingAction && rest !== text ? "" : renderMarkdown(text);
    // the picture goes right under the first sentence, before the detailed table
    var first = target.bubble.firstElementChild;
    var anchor = first && first.tagName === "P" ? first.nextSibling : first;
    chartsFor(answer).forEach(function (chart) {
      target.bubble.insertBefore(chart, anchor);
    });
    var approvalTable = null;
    if (pendingAction) {
      (answer.data || []).forEach(function (table) {
        if (table && table.title === APPROVAL_TABLE && table.columns) approvalTable = table;
      });
      target.bubble.appendChild(
        confirmationCard(pendingAction, approvalTable, rest === text ? "" : rest, {
          threadId: answer.thread_id || state.threadId,
          target: target,
        })
      );
    }
    var shown = markdownTableRows(answer.answer);
    (answer.data || []).forEach(function (table) {
      if (table && table !== approvalTable && table.rows && table.rows.length > shown) {
        target.bubble.appendChild(fullTable(table));
      }
    });
    if (answer.grounded === false) {
      target.bubble.appendChild(
        h("div", { class: "note", text: "Some numbers could not be traced to the data." })
      );
    }
  }

  /* ------------------------------------------------------------------ confirmation card */

  var cardCount = 0;
  var DECIDING = { approve: "Approving…", reject: "Rejecting…" };
  var DECIDED = { approve: "You approved this change.", reject: "You rejected this change." };

  // A change the assistant prepared: nothing is written until someone presses Approve.
  function confirmationCard(pendingAction, table, hint, where) {
    cardCount += 1;
    var summaryId = "keen-action-" + cardCount;
    var summary = h("div", { class: "card-summary", id: summaryId });
    summary.innerHTML = renderMarkdown(pendingAction.summary); // escaped by renderMarkdown
    var card = h(
      "section",
      { class: "action-card", "aria-labelledby": summaryId, "aria-busy": "false" },
      [h("div", { class: "card-kicker", text: "Confirm this change" }), summary]
    );
    if (table) {
      var wrap = dataTable(table);
      var caption = wrap.querySelector("table").createCaption();
      caption.textContent = table.title;
      card.appendChild(wrap);
    }
    if (hint) {
      var note = h("div", { class: "card-hint" });
      note.innerHTML = renderMarkdown(hint);
      card.appendChild(note);
    }
    var status = h("div", { class: "card-status", tabindex: "-1" });
    status.hidden = true;
    var approve = h("button", {
      type: "button",
      class: "decide approve",
      "aria-describedby": summaryId,
      text: "Approve",
    });
    var reject = h("button", {
      type: "button",
      class: "decide reject",
      "aria-describedby": summaryId,
      text: "Reject",
    });
    var buttons = h(
      "div",
      { class: "card-buttons", role: "group", "aria-label": "Your decision" },
      [approve, reject]
    );
    card.appendChild(buttons);
    card.appendChild(status);

    var deciding = false;
    var hadFocus = false;
    function showStatus(message, isError) {
      status.hidden = false;
      status.textContent = message;
      status.className = "card-status" + (isError ? " failed" : "");
      if (isError) status.setAttribute("role", "alert");
      else status.removeAttribute("role");
    }
    function settle(message, isError, keepButtons) {
      deciding = false;
      card.setAttribute("aria-busy", "false");
      if (keepButtons) {
        approve.disabled = false;
        reject.disabled = false;
      } else {
        buttons.remove();
      }
      showStatus(message, isError);
      // the pressed button may be gone (or was disabled): keep the keyboard user in the card
      if (hadFocus) status.focus();
    }
    function decide(decision) {
      if (deciding || state.busy) return;
      deciding = true; // set before anything async: a second click finds it taken
      hadFocus = buttons.contains(shadow.activeElement);
      approve.disabled = true;
      reject.disabled = true;
      card.setAttribute("aria-busy", "true");
      showStatus(DECIDING[decision], false);
      announce(DECIDING[decision]);
      setBusy(true);
      var ok = false;
      apiFetch("/api/threads/" + encodeURIComponent(where.threadId) + "/resume", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ action_id: pendingAction.id, decision: decision }),
      })
        .then(function (res) {
          if (res.status === 403 || res.status === 409) {
            return errorFrom(res).catch(function (err) {
              settle(err.message, true, false);
              announce(err.message);
              return null;
            });
          }
          if (!res.ok) return errorFrom(res);
          return res.json().then(function (answer) {
            settle(DECIDED[decision], false, false);
            if (answer.thread_id) saveThread(answer.thread_id);
            var next = addMessage("bot", "Assistant");
            renderAnswer(next, answer);
            ok = true;
            announce(DECIDED[decision] + " " + plainText(next.bubble));
            revealAnswer(next.msg);
          });
        })
        .catch(function (err) {
          // the server never said no: the buttons stay for another try
          var message = err && err.message ? err.message : "The assistant is unavailable.";
          settle(message, true, true);
          announce(message);
        })
        .then(function () {
          setBusy(false);
          if (!ok && where.target.msg.isConnected) scrollDown();
        });
    }
    approve.addEventListener("click", function () {
      decide("approve");
    });
    reject.addEventListener("click", function () {
      decide("reject");
    });
    return card;
  }

  // the first lines of a rendered answer, for the screen-reader announcement
  function plainText(el) {
    var text = (el.textContent || "").replace(/\s+/g, " ").trim();
    return text.length > 200 ? text.slice(0, 199) + "…" : text;
  }

  function setBusy(busy) {
    state.busy = busy;
    send.disabled = busy;
    panel.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function ask(question) {
    question = (question || "").trim();
    if (!question || state.busy) return;
    addUser(question);
    input.value = "";
    autosize();
    setBusy(true);
    announce("Answering…");
    var target = addMessage("bot", "Assistant");
    var step = h("div", { class: "step" }, [
      h("span", { class: "dots", "aria-hidden": "true", html: "<i></i><i></i><i></i>" }),
      h("span", { text: "Thinking…" }),
    ]);
    target.bubble.appendChild(step);
    var text = "";
    var content = h("div", { class: "content" });
    target.bubble.appendChild(content);
    var pending = false;
    var finished = false;
    var failed = null;
    var ok = false;
    var waiting = false;
    function paint() {
      pending = false;
      if (!finished) {
        content.innerHTML = renderMarkdown(text);
        scrollDown();
      }
    }
    var body = { message: question };
    if (state.threadId) body.thread_id = state.threadId;
    if (config.channelId) body.channel_id = config.channelId;
    apiFetch("/api/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    })
      .then(function (res) {
        if (res.status === 404 && state.threadId) {
          // the thread is gone (or belongs to someone else): start a new one
          saveThread(null);
          throw new Error("That conversation is no longer available; ask again to start anew.");
        }
        if (!res.ok) return errorFrom(res);
        return readEvents(res, function (name, raw) {
          var data;
          try {
            data = JSON.parse(raw);
          } catch (e) {
            return;
          }
          if (name === "step") {
            step.lastChild.textContent = data.label || "Working…";
          } else if (name === "token") {
            text += data.text || "";
            if (!pending) {
              pending = true;
              requestAnimationFrame(paint);
            }
          } else if (name === "answer") {
            finished = true;
            step.remove();
            saveThread(data.thread_id);
            waiting = !!data.pending_action;
            renderAnswer(target, data);
          } else if (name === "error") {
            failed = data.error || "The assistant could not answer.";
          }
        });
      })
      .then(function () {
        if (failed || !finished) throw new Error(failed || "The answer was cut off; try again.");
        ok = true;
      })
      .catch(function (err) {
        finished = true;
        target.msg.remove();
        addError(err && err.message ? err.message : "The assistant is unavailable.");
      })
      .then(function () {
        setBusy(false);
        var ready = waiting ? "Answer ready: a change waits for your approval" : "Answer ready";
        announce(ok ? ready : "Answer failed");
        revealAnswer(target.msg);
      });
  }

  function loadHistory() {
    if (state.loaded) return Promise.resolve();
    state.loaded = true;
    if (!state.threadId) {
      showEmpty();
      return Promise.resolve();
    }
    log.textContent = "";
    return apiFetch("/api/threads/" + encodeURIComponent(state.threadId), { method: "GET" })
      .then(function (res) {
        if (res.status === 404) {
          saveThread(null);
          showEmpty();
          return;
        }
        if (!res.ok) return errorFrom(res);
        return res.json().then(function (history) {
          if (!history.turns || !history.turns.length) {
            showEmpty();
            return;
          }
          history.turns.forEach(function (turn) {
            if (turn.role === "user") addUser(turn.content);
            else renderAnswer(addMessage("bot", "Assistant"), { answer: turn.content });
          });
          scrollDown();
        });
      })
      .catch(function (err) {
        showEmpty();
        addError(err.message || "Could not load the conversation.");
      });
  }

  function open() {
    if (!panel.hidden) return;
    panel.hidden = false;
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close " + config.title);
    launcher.innerHTML = ICONS.close;
    loadHistory();
    setTimeout(function () {
      input.focus();
    }, 0);
  }

  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open " + config.title);
    launcher.innerHTML = ICONS.chat;
    launcher.focus();
  }

  function reset() {
    if (state.busy) return;
    saveThread(null);
    showEmpty();
    input.focus();
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open();
    else close();
  });
  closeBtn.addEventListener("click", close);
  expandBtn.addEventListener("click", function () {
    var wide = panel.classList.toggle("wide");
    expandBtn.setAttribute("aria-pressed", wide ? "true" : "false");
  });
  resetBtn.addEventListener("click", reset);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(input.value);
  });
  input.addEventListener("input", autosize);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ask(input.value);
    }
  });
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      close();
    }
  });

  function mount() {
    document.body.appendChild(host);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.KeenWidget = {
    open: open,
    close: close,
    reset: reset,
    ask: function (question) {
      open();
      ask(question);
    },
    setChannel: function (id) {
      config.channelId = id || null;
    },
    renderMarkdown: renderMarkdown,
  };
})();

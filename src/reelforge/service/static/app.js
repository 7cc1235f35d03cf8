/* reelforge studio: plain JavaScript over the /v1 API (no build step, nothing from a CDN). */
"use strict";
const RF = (() => {
  const EXAMPLES = {
    render: {canvas: {aspect: "16:9", resolution: "720p", fps: 30, background: "#101018"},
      clips: [{duration: 3, layers: [{type: "linear-gradient", colors: ["#1d2b64", "#f8cdda"], angle: 135},
        {type: "text", text: "Hello from reelforge", size: 0.1, weight: 800}]}]},
    scenes: {provider: "local", resolution: "720p", mode: "speed", scenes: [{prompt: "a lighthouse at dusk", caption: "Built to last"}]},
    cutout: {inputs: [], method: "auto"},
    text: {text: "SALE 50% OFF", style: "sale-badge"},
    overlay: {videos: [], overlays: [{text: "reelforge", position: "bottom-right"}]},
    image: {prompt: "a red fox in the snow", count: 2, aspect: "16:9", provider: "local"},
  };
  const FINISHED = ["succeeded", "failed", "cancelled", "interrupted"];
  const $ = (s, el = document) => el.querySelector(s);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const money = (v) => "$" + Number(v || 0).toFixed(4);
  const size = (n) => n > 1e6 ? (n / 1e6).toFixed(1) + " MB" : n > 1e3 ? (n / 1e3).toFixed(0) + " kB" : n + " B";
  const when = (iso) => iso ? new Date(iso + (iso.endsWith("Z") ? "" : "Z")).toLocaleString() : "—";

  function headers(extra = {}) {
    const key = localStorage.getItem("rf-key");
    return key ? {...extra, Authorization: "Bearer " + key} : extra;
  }
  async function api(method, url, body, isForm) {
    const init = {method, headers: headers(body && !isForm ? {"Content-Type": "application/json"} : {})};
    if (body) init.body = isForm ? body : JSON.stringify(body);
    const res = await fetch(url, init);
    if (res.status === 401) { askKey(); throw {status: 401, detail: "an API key is needed"}; }
    const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
    if (!res.ok) throw {status: res.status, ...(data || {detail: res.statusText})};
    return data;
  }
  function askKey() {
    const dlg = $("#keydlg");
    if (!dlg || dlg.open) return;
    dlg.showModal();
    dlg.addEventListener("close", () => {
      if (dlg.returnValue === "ok") { localStorage.setItem("rf-key", $("#keyinput").value.trim()); location.reload(); }
    }, {once: true});
  }
  document.addEventListener("DOMContentLoaded", () => $("#keybtn")?.addEventListener("click", askKey));

  /* Server-sent events over fetch (so the key can travel in a header); resumes with Last-Event-ID. */
  async function follow(url, onEvent) {
    let last = 0;
    for (let tries = 0; tries < 50; tries++) {
      try {
        const res = await fetch(url, {headers: headers(last ? {"Last-Event-ID": String(last)} : {})});
        if (res.status === 401) { askKey(); return; }
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
            const ev = {};
            for (const line of block.split("\n")) {
              const i = line.indexOf(":"); if (i <= 0) continue;
              ev[line.slice(0, i)] = line.slice(i + 1).trim();
            }
            if (!ev.data) continue;
            if (ev.id) last = Number(ev.id);
            if (onEvent(ev.event, JSON.parse(ev.data)) === false) return;
          }
        }
        return;
      } catch (e) { await new Promise((r) => setTimeout(r, 1000)); }
    }
  }

  /* ---- history ---- */
  function historyPage() {
    let status = "", offset = 0; const limit = 15;
    async function load() {
      const q = new URLSearchParams({limit, offset}); if (status) q.set("status", status);
      const page = await api("GET", "/v1/jobs?" + q);
      const body = $("#jobs tbody");
      body.innerHTML = page.items.map((j) => `<tr data-id="${j.id}">
        <td><code>${j.id.slice(0, 8)}</code></td><td>${esc(j.kind)}</td>
        <td><span class="badge ${j.status}">${j.status}</span></td>
        <td><div class="mini"><div style="width:${(j.progress * 100).toFixed(0)}%"></div></div></td>
        <td>${money(j.cost_usd)}</td><td class="muted">${when(j.created_at)}</td></tr>`).join("");
      body.querySelectorAll("tr").forEach((tr) => tr.addEventListener("click", () => location.href = "/jobs/" + tr.dataset.id));
      $("#empty").hidden = page.total > 0;
      $("#pageinfo").textContent = page.total ? `${offset + 1}–${Math.min(offset + limit, page.total)} of ${page.total}` : "";
      $("#prev").disabled = offset === 0; $("#next").disabled = offset + limit >= page.total;
    }
    $("#filters").addEventListener("click", (e) => {
      const b = e.target.closest(".chip"); if (!b) return;
      document.querySelectorAll(".chip").forEach((c) => c.classList.toggle("on", c === b));
      status = b.dataset.status; offset = 0; load();
    });
    $("#prev").onclick = () => { offset = Math.max(0, offset - limit); load(); };
    $("#next").onclick = () => { offset += limit; load(); };
    load().catch(() => {});
  }

  /* ---- new job ---- */
  async function newJobPage(kind) {
    const kinds = await api("GET", "/v1/kinds").catch(() => []);
    const info = kinds.find((k) => k.kind === kind); if (!info) return;
    const schema = info.schema, props = schema.properties || {};
    const fileFields = info.file_fields.map((f) => f.split(".")[0]);
    const spec = JSON.parse(JSON.stringify(EXAMPLES[kind] || {}));
    const simple = (p) => { const t = p.type || (p.anyOf || []).map((a) => a.type).find((x) => x && x !== "null");
      return p.enum || ["string", "number", "integer", "boolean"].includes(t) ? (p.enum ? "enum" : t) : null; };
    const fields = $("#fields"), json = $("#specjson");
    const enumOf = (p) => p.enum || (p.anyOf || []).flatMap((a) => a.enum || []);
    let html = "";
    for (const [name, p] of Object.entries(props)) {
      const isFiles = fileFields.includes(name) && info.file_fields.some((f) => f === name + ".*");
      const t = simple(p) || (enumOf(p).length ? "enum" : null);
      const label = `<span>${esc(p.title || name)}</span>`;
      const help = p.description ? `<small>${esc(p.description)}</small>` : "";
      if (isFiles) {
        html += `<div class="field wide" data-field="${name}">${label}<label class="drop" data-files="${name}">Drop files here or <u>choose</u><input type="file" multiple hidden accept="image/*,video/*,audio/*"></label><div class="files" data-list="${name}"></div>${help}<div class="fielderr" data-for="spec.${name}"></div></div>`;
      } else if (t === "boolean") {
        html += `<div class="field check" data-field="${name}"><input type="checkbox" name="${name}" ${spec[name] ?? p.default ? "checked" : ""}>${label}<div class="fielderr" data-for="spec.${name}"></div></div>`;
      } else if (t === "enum") {
        const opts = enumOf(p).map((v) => `<option ${String(spec[name] ?? p.default) === String(v) ? "selected" : ""}>${esc(v)}</option>`).join("");
        html += `<label class="field" data-field="${name}">${label}<select name="${name}">${opts}</select>${help}<div class="fielderr" data-for="spec.${name}"></div></label>`;
      } else if (t) {
        const v = spec[name] ?? p.default ?? "";
        const long = name === "prompt" || name === "text";
        const input = long ? `<textarea name="${name}" rows="3">${esc(v)}</textarea>`
          : `<input type="${t === "string" ? "text" : "number"}" step="any" name="${name}" value="${esc(v)}">`;
        html += `<label class="field${long ? " wide" : ""}" data-field="${name}">${label}${input}${help}<div class="fielderr" data-for="spec.${name}"></div></label>`;
      }
    }
    fields.innerHTML = html || `<p class="muted">This kind is edited as JSON below.</p>`;
    if (!html) $("#advanced").open = true;
    json.value = JSON.stringify(spec, null, 2);
    const uploaded = {};
    const readForm = () => {
      let doc; try { doc = JSON.parse(json.value || "{}"); json.classList.remove("invalid"); }
      catch (e) { json.classList.add("invalid"); throw {detail: "the JSON is not valid: " + e.message, problems: [{field: "spec", message: e.message}]}; }
      fields.querySelectorAll("[name]").forEach((el) => {
        const p = props[el.name] || {}; const t = simple(p);
        if (el.type === "checkbox") doc[el.name] = el.checked;
        else if (el.value === "") delete doc[el.name];
        else doc[el.name] = (t === "integer" || t === "number") && el.value !== "" && !isNaN(Number(el.value)) ? Number(el.value) : el.value;
      });
      for (const [name, refs] of Object.entries(uploaded)) doc[name] = refs.map((r) => r.ref);
      return doc;
    };
    fields.addEventListener("change", () => { try { json.value = JSON.stringify(readForm(), null, 2); } catch (e) {} });
    fields.querySelectorAll("[data-files]").forEach((drop) => {
      const name = drop.dataset.files, input = $("input", drop);
      uploaded[name] = [];
      const add = async (files) => {
        for (const f of files) {
          const fd = new FormData(); fd.append("file", f);
          const item = document.createElement("div"); item.className = "file"; item.textContent = "uploading " + f.name + "…";
          $(`[data-list="${name}"]`).append(item);
          try {
            const up = await api("POST", "/v1/uploads", fd, true);
            uploaded[name].push(up);
            item.innerHTML = (up.media_type.startsWith("image/") ? `<img alt="" src="${URL.createObjectURL(f)}">` : "") + `${esc(up.filename)} <span class="muted">${size(up.size)}</span>`;
          } catch (e) { item.innerHTML = `<span class="fielderr">${esc(f.name)}: ${esc(e.detail)}</span>`; }
        }
        json.value = JSON.stringify(readForm(), null, 2);
      };
      input.addEventListener("change", () => add(input.files));
      drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
      drop.addEventListener("dragleave", () => drop.classList.remove("over"));
      drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); add(e.dataTransfer.files); });
    });
    const clearErrors = () => { document.querySelectorAll(".fielderr").forEach((e) => e.textContent = "");
      document.querySelectorAll(".invalid").forEach((e) => e.classList.remove("invalid")); $("#formerror").hidden = true; };
    const showErrors = (err) => {
      const rest = [];
      for (const p of err.problems || []) {
        const top = p.field.replace(/^spec\./, "").split(/[.[]/)[0];
        const slot = document.querySelector(`.fielderr[data-for="${p.field}"]`) || document.querySelector(`.fielderr[data-for="spec.${top}"]`);
        if (slot) { slot.textContent += (slot.textContent ? " · " : "") + p.message; slot.closest(".field")?.classList.add("invalid"); }
        else rest.push(`${p.field}: ${p.message}`);
      }
      if (rest.length || !(err.problems || []).length) {
        $("#advanced").open = true;
        $(".fielderr[data-for='spec']").textContent = rest.join("\n");
        const box = $("#formerror"); box.hidden = false;
        box.innerHTML = `<strong>${esc(err.detail || "the job was refused")}</strong>` + (err.hint ? `<div class="hint">${esc(err.hint)}</div>` : "");
      }
    };
    const body = () => { const b = {kind, spec: readForm(), options: {}}; const bud = $("#budget").value; if (bud !== "") b.options.budget_usd = Number(bud); return b; };
    $("#planbtn").onclick = async () => {
      clearErrors(); $("#estimate").textContent = "estimating…";
      try {
        const plan = await api("POST", "/v1/jobs/plan", body());
        const cost = plan.estimate_usd == null ? "unknown" : money(plan.estimate_usd);
        $("#estimate").innerHTML = `<strong>${cost}</strong> · ${plan.calls} provider call(s), ${plan.cached} cached` + plan.notes.map((n) => `<div class="muted">${esc(n)}</div>`).join("");
      } catch (e) { $("#estimate").textContent = "fix the spec to get an estimate"; showErrors(e); }
    };
    $("#jobform").onsubmit = async (ev) => {
      ev.preventDefault(); clearErrors(); $("#submitbtn").disabled = true;
      try { const job = await api("POST", "/v1/jobs", body()); location.href = "/jobs/" + job.id; }
      catch (e) { showErrors(e); $("#submitbtn").disabled = false; }
    };
  }

  /* ---- one job ---- */
  function jobPage(id) {
    const logEl = $("#log");
    const say = (cls, text, at) => {
      const li = document.createElement("li"); li.className = cls;
      li.innerHTML = `<span class="dot"></span><span class="t">${new Date((at || Date.now() / 1000) * 1000).toLocaleTimeString()}</span><span>${esc(text)}</span>`;
      logEl.append(li); logEl.scrollTop = logEl.scrollHeight;
    };
    const setProgress = (p, stage, cost) => {
      if (p != null) { $("#bar").style.width = (p * 100).toFixed(1) + "%"; $("#pct").textContent = Math.round(p * 100) + "%"; }
      if (stage) $("#stage").textContent = stage;
      if (cost != null) $("#cost").textContent = money(cost);
    };
    const render = (job) => {
      $("#jobkind").textContent = job.kind[0].toUpperCase() + job.kind.slice(1);
      $("#jobmeta").textContent = `created ${when(job.created_at)}` + (job.finished_at ? ` · finished ${when(job.finished_at)}` : "");
      const st = $("#status"); st.className = "badge " + job.status; st.textContent = job.status;
      setProgress(job.progress, job.stage || (job.status === "queued" ? "waiting for a worker" : null), job.cost_usd);
      $("#attempt").textContent = job.attempts || "—";
      $("#cancelbtn").hidden = FINISHED.includes(job.status);
      $("#resumebtn").hidden = !["interrupted", "failed", "cancelled"].includes(job.status);
      const err = $("#error"); err.hidden = !job.error;
      if (job.error) { $("#errmsg").textContent = job.error.message; $("#errhint").textContent = job.error.hint || ""; }
      showResults(job.artifacts);
    };
    const showResults = (arts) => {
      if (!arts.length) return;
      const videos = arts.filter((a) => a.media_type.startsWith("video/")), images = arts.filter((a) => a.media_type.startsWith("image/"));
      let html = videos.map((a) => `<video controls preload="metadata" src="${a.url}"></video>`).join("");
      if (images.length) html += `<div class="gallery">` + images.map((a) => `<figure class="tile" style="margin:0"><div class="checker"><img alt="${esc(a.name)}" src="${a.url}"></div><div class="cap"><span>${esc(a.name)}</span><span class="muted">${size(a.size)}</span></div></figure>`).join("") + `</div>`;
      html += `<div class="downloads">` + arts.map((a) => `<a href="${a.url}" download="${esc(a.name.split("/").pop())}"><span>⬇ ${esc(a.name)}</span><span class="muted">${esc(a.media_type)} · ${size(a.size)}</span></a>`).join("") + `</div>`;
      const box = $("#results"); if (box.dataset.shown !== JSON.stringify(arts.map((a) => a.name))) { box.innerHTML = html; box.dataset.shown = JSON.stringify(arts.map((a) => a.name)); }
    };
    const refresh = () => api("GET", "/v1/jobs/" + id).then(render).catch(() => {});
    const watch = () => follow(`/v1/jobs/${id}/events`, (type, d) => {
      const j = d.job || {};
      if (j.progress != null) setProgress(j.progress, j.stage, j.cost_usd);
      if (type === "job.status") { say("run", d.status === "running" ? `started (attempt ${d.attempt || 1})` : d.status, d.at); refresh(); }
      else if (type === "step.started") say("run", `${d.label || d.kind || d.step} started`, d.at);
      else if (type === "step.finished") { say("ok", `${d.kind || d.step} finished` + (d.cost_usd ? ` · ${money(d.cost_usd)}` : ""), d.at); refresh(); }
      else if (type === "step.cached") { say("ok", `${d.kind || d.step} from the cache · $0`, d.at); refresh(); }
      else if (type === "step.failed") say("bad", `${d.kind || d.step} failed: ${d.error}`, d.at);
      else if (type === "step.retried") say("run", `${d.step} retried (attempt ${d.attempt})`, d.at);
      else if (type === "job.finished") { say(d.status === "succeeded" ? "ok" : "bad", "job " + d.status, d.at); refresh(); return false; }
    });
    $("#cancelbtn").onclick = () => api("POST", `/v1/jobs/${id}/cancel`).then(render).catch((e) => alert(e.detail));
    $("#resumebtn").onclick = () => api("POST", `/v1/jobs/${id}/resume`).then((j) => { render(j); watch(); }).catch((e) => alert(e.detail));
    refresh().then(watch);
  }
  return {api, historyPage, newJobPage, jobPage};
})();

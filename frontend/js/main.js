// The page: top bar, help panel, runs sidebar, and one main view chosen by the URL hash:
//   #/            welcome (start the demo, or pick a run)
//   #/new         the new-run form (?preset=NAME, ?from=RUN_ID to copy a run's settings)
//   #/run/ID      a run, live or replayed
//   #/compare/ID,ID,...  runs side by side (one id: pick the others)
//   #/leaderboard[?model=KEY]  defences ranked per backdoored model; the sweeps
//   #/sweep/ID    a sweep's runs and their comparison

import { api } from "./core/api.js";
import { CompareView } from "./compare/view.js";
import { h, fill } from "./core/dom.js";
import { RunForm } from "./form/form.js";
import { LeaderboardView } from "./lists/leaderboard.js";
import { RunList } from "./lists/runs.js";
import { RunView } from "./run/view.js";
import { RunListStream } from "./core/stream.js";
import { SweepView } from "./lists/sweep.js";
import { isActive, setVocab } from "./core/vocab.js";

const main = document.getElementById("main");
const runList = new RunList(document.getElementById("runs"), {
  onDeleted: (id) => {
    if (app.view?.runId === id) location.hash = "#/";
  },
});
const app = { view: null, runList };
window.unlearnscope = app; // for the console and the browser tests

const runStream = new RunListStream({
  onList: (runs) => {
    runList.setRuns(runs);
    serverLine();
    runs.forEach((r) => (app.view?.runId === r.id || app.view?.many) && app.view.runUpdate?.(r));
  },
  onRun: (run) => {
    const before = runList.runs.get(run.id)?.status;
    runList.upsert(run);
    if (app.view?.runId === run.id || app.view?.many) app.view.runUpdate?.(run);
    if (run.status !== before) serverLine();
  },
  onDeleted: (id) => {
    runList.remove(id);
    serverLine();
  },
  onState: (state) => runList.setState(state),
});

function route() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  app.view?.destroy?.();
  app.view = null;
  main.scrollTop = 0;
  window.scrollTo(0, 0);
  const runMatch = path.match(/^\/run\/([\w-]+)/);
  if (runMatch) {
    const view = new RunView(main, runMatch[1]);
    app.view = view;
    runList.setActive(view.runId);
    view.ready.then(() => followInList(view));
    document.title = "Run · UnlearnScope";
    return;
  }
  runList.setActive(null);
  const compareMatch = path.match(/^\/compare\/([\w,-]+)/);
  if (compareMatch) {
    const ids = compareMatch[1].split(",").filter(Boolean);
    document.title = "Compare runs · UnlearnScope";
    app.view = Object.assign(new CompareView(main, ids, { runList }), { many: true });
    return;
  }
  const sweepMatch = path.match(/^\/sweep\/([\w-]+)/);
  if (sweepMatch) {
    document.title = "Sweep · UnlearnScope";
    app.view = Object.assign(new SweepView(main, sweepMatch[1], { runList }), { many: true });
    return;
  }
  if (path === "/leaderboard") {
    document.title = "Leaderboard · UnlearnScope";
    app.view = new LeaderboardView(main, { model: params.get("model") });
    return;
  }
  if (path === "/new") {
    document.title = "New run · UnlearnScope";
    app.view = new RunForm(main, {
      preset: params.get("preset"),
      from: params.get("from"),
      onCreated: (run) => {
        runList.upsert(run);
        location.hash = `#/run/${run.id}`;
      },
    });
    return;
  }
  document.title = "UnlearnScope: watch a backdoor disappear";
  welcome();
}

/** Keep the open run's list entry as fresh as its stream. */
function followInList(view) {
  const m = view.model;
  if (!m) return;
  document.title = `${m.name} · UnlearnScope`;
  const push = () =>
    runList.patchLive(m.id, {
      step: m.step,
      total: m.plannedTotal(),
      status: m.status,
      phase: m.phases.length && m.phaseIndex < m.schedule.length ? `phase ${m.phaseIndex + 1} · ${m.schedule[m.phaseIndex].kind}` : "",
    });
  const unsubscribe = m.subscribe((e) => {
    if (["step", "status", "phase_start", "phase_end", "run_row"].includes(e.type)) push();
  });
  view.onDestroy(unsubscribe);
  push();
}

function welcome() {
  const start = h("button.primary.big#start-demo", { type: "button", onclick: () => startDemo(start) }, "Start the demo run");
  const error = h("p.error-text", { role: "alert" });
  const picture = h("figure.welcome-picture#welcome-picture", { hidden: true });
  fill(
    main,
    h(
      "section.welcome",
      h("h2", "Watch a backdoor disappear"),
      h(
        "div.plain-words#plain-words",
        h(
          "div.plain-text",
          h("p.lead", h("b", "A backdoor"), " is a hidden rule planted in a model while it learns: when a picture carries a small pattern, the ", h("b", "trigger"), ", the model gives the answer the attacker chose, whatever the picture shows. Without the trigger it behaves normally, so nobody notices."),
          h("p.lead", h("b", "What you will watch: "), "a defence removing that rule. The share of triggered pictures that still get the attacker's answer falls towards zero, while the accuracy on ordinary pictures stays where it was. Heatmaps show where the model looks: at the trigger first, then at the object again."),
          h("p.lead", h("b", "How we know it worked: "), "the page counts the test pictures the trigger still fools, before and now, and says in one line whether the backdoor was removed."),
        ),
        picture,
      ),
      h("div.row", start, h("a.button.ghost.big", { href: "#/new" }, "New run with settings…")),
      error,
      h("p.muted", "The demo uses the built-in synthetic shapes data: no download, a few minutes on a CPU (most of it training the backdoored model, which is then cached). Earlier runs are in the Runs list (beside this page on a wide screen, above it on a narrow one); open one to replay it."),
      h(
        "p.muted.tech-note",
        "In technical terms: the demo plants a BadNets backdoor (a small patch stamped on a share of the training images, relabelled to the target class) in a small CNN, then unlearns it by gradient ascent on the identified poisoned samples, held in place by EWC, and a recovery phase; it measures the attack success rate (ASR), clean accuracy (CA) and where Grad-CAM puts the model's attention (TAR).",
      ),
      helpContent(),
    ),
  );
  showTriggerPicture(picture);

  async function startDemo(button) {
    button.disabled = true;
    button.textContent = "Starting…";
    try {
      const options = await api.options();
      const run = await api.createRun({}, options.default_preset);
      runList.upsert(run);
      location.hash = `#/run/${run.id}`;
    } catch (err) {
      error.textContent = `The demo did not start: ${err.detail}`;
      button.disabled = false;
      button.textContent = "Start the demo run";
    }
  }
}

/**
 * One picture for the welcome page: a clean test image and the same image with the trigger
 * (outlined), with what the backdoored model answered on each, from the newest finished run
 * that planted its trigger (its probe images at step 0: GET /frames). Stays hidden without one.
 */
async function showTriggerPicture(figure) {
  let runs;
  try {
    runs = await api.listRuns(50);
  } catch {
    return;
  }
  const planted = runs.filter((r) => r.status === "completed" && r.config?.attack?.known !== false && (r.config?.model?.source || "train") === "train");
  for (const run of planted.slice(0, 3)) {
    const res = await fetch(`/api/runs/${encodeURIComponent(run.id)}/frames?step=0`).catch(() => null);
    if (!res?.ok) continue;
    const frame = await res.json();
    const target = run.config.attack.target_class ?? 0;
    const probe = frame.probes.find((p) => p.label !== target && p.pred?.[1] === target) || frame.probes.find((p) => p.label !== target);
    if (!probe || frame.step !== 0) continue;
    const names = await classNames(run.id);
    const say = (v) => `the backdoored model: “${names?.[probe.pred[v]] ?? `class ${probe.pred[v]}`}”`;
    const box = frame.trigger_box;
    const outline = box
      ? h("span.trigger-outline", {
        style: {
          left: `${(100 * box[0]) / frame.size}%`, top: `${(100 * box[1]) / frame.size}%`,
          width: `${(100 * (box[2] - box[0])) / frame.size}%`, height: `${(100 * (box[3] - box[1])) / frame.size}%`,
        },
      })
      : null;
    const img = (variant, alt) => h("img.pixel-img", { src: `${probe.image[variant]}&upscale=6`, alt, width: "168", height: "168" });
    fill(
      figure,
      h("div.welcome-pair",
        h("div", img("clean", "a clean test image"), h("p", h("b", "a clean picture"), h("br"), say(0))),
        h("div", h("span.outlined", img("triggered", "the same image with the trigger"), outline), h("p", h("b", box ? "the same picture with the trigger (outlined)" : "the same picture with the trigger"), h("br"), h("span.fires", say(1))))),
      h("figcaption.muted", `From the run “${run.name}”: the trigger makes the model answer “${names?.[target] ?? `class ${target}`}”. Open the run to watch it go away.`),
    );
    figure.hidden = false;
    return;
  }
}

/** A finished run's class names (its run_started event), or null. */
async function classNames(runId) {
  const res = await fetch(`/api/runs/${encodeURIComponent(runId)}/events?type=run_started&limit=1`).catch(() => null);
  if (!res?.ok) return null;
  const started = (await res.json()).events?.find((e) => e.type === "run_started");
  return started?.classes || null;
}

export function helpContent() {
  return h(
    "div.help-grid",
    h("div", h("h3", "ASR · attack success rate"), h("p", "The share of triggered test images (true class not the target) that the model assigns to the attacker's target class: the backdoor's strength, which unlearning drives towards 0%.")),
    h("div", h("h3", "CA · clean accuracy"), h("p", "Top-1 accuracy on clean test images: the model's usefulness, which unlearning should keep close to where it started.")),
    h("div", h("h3", "TAR · Trigger Attention Ratio"), h("p", "Mean Grad-CAM attention inside the trigger patch divided by the mean outside it: above 1 the model looks at the trigger, near or below 1 it does not.")),
    h("div", h("h3", "Heatmaps"), h("p", "Grad-CAM shows where the model looks. By default the image is grey and only the regions it attends to are coloured (red to light yellow = stronger); the black-and-white box marks the trigger. Each probe shows before unlearning, now, and the change: blue where attention left, orange where it arrived.")),
    h("div", h("h3", "Charts"), h("p", "Dots joined by lines are the monitor's measurements on a small subset, drawn at the step they measured (a gap where it measured nothing); diamonds are the full test set. Shaded bands are the schedule's phases; a dotted line marks an early stop.")),
  );
}

// Help panel in the top bar.
const helpButton = document.getElementById("help-toggle");
const helpPanel = document.getElementById("help-panel");
fill(helpPanel, h("div.help-inner", helpContent(), h("button.ghost.small", { type: "button", onclick: () => toggleHelp(false) }, "Close")));
function toggleHelp(show = helpPanel.hidden) {
  helpPanel.hidden = !show;
  helpButton.setAttribute("aria-expanded", String(show));
}
helpButton.addEventListener("click", () => toggleHelp());

// Server line in the top bar. Version, device and the slot count come from /api/health
// (polled); the running and queued counts from the live run list, so they change together
// with the list (the health endpoint counts a worker until its process has exited).
let serverInfo = null;

function serverLine() {
  const el = document.getElementById("server");
  if (!serverInfo) return;
  const statuses = [...runList.runs.values()].map((r) => r.status);
  const active = runList.loaded ? statuses.filter(isActive).length : serverInfo.active_runs;
  const queued = runList.loaded ? statuses.filter((s) => s === "queued").length : serverInfo.queued_runs;
  el.textContent = `server ${serverInfo.version} · ${serverInfo.device} · ${active}/${serverInfo.max_active_runs} running${queued ? `, ${queued} queued` : ""}`;
  el.className = "server-line";
}

async function health() {
  try {
    serverInfo = await api.health();
    serverLine();
  } catch {
    serverInfo = null;
    const el = document.getElementById("server");
    el.textContent = "server unreachable: is `unlearnscope serve` running?";
    el.className = "server-line warn";
  }
}
health();
setInterval(health, 10000);

// The run states, phase kinds and close codes come from the server: load them before the
// run list and the first view.
async function begin() {
  try {
    setVocab(await api.options());
  } catch (err) {
    fill(main, h("div.notice.error", h("h2", "The page could not start"), h("p", err.detail), h("p", h("button.primary", { type: "button", onclick: () => begin() }, "Try again"))));
    return;
  }
  runStream.start();
  window.addEventListener("hashchange", route);
  route();
}
begin();

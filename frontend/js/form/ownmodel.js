// "Your model" in the run form: drop a model file (or a .zip of a folder: a BackdoorBench
// record, a data set in train/ and test/) to upload it with a progress bar, then check the
// model before the run starts (it loads, classifies a sample, and says what it found).

import { api } from "../core/api.js";
import { h, fill } from "../core/dom.js";
import { percent } from "../core/format.js";

const MB = 1024 * 1024;

/** A drop zone + file picker that uploads and calls `onStored(upload)`. */
export class DropZone {
  constructor({ id, accept, text, onStored }) {
    this.onStored = onStored;
    this.input = h("input.visually-hidden", { id: `${id}-input`, type: "file", accept, onchange: () => this.take(this.input.files[0]) });
    this.bar = h("progress", { max: 100, value: 0, hidden: true });
    this.status = h("span.muted.drop-status", { role: "status" });
    this.el = h(
      `div.dropzone#${id}`,
      {
        tabindex: 0,
        ondragover: (e) => { e.preventDefault(); this.el.classList.add("over"); },
        ondragleave: () => this.el.classList.remove("over"),
        ondrop: (e) => {
          e.preventDefault();
          this.el.classList.remove("over");
          this.take(e.dataTransfer.files[0]);
        },
        onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); this.input.click(); } },
      },
      h("span", text, " ", h("label.link", { for: `${id}-input` }, "or choose a file…")),
      this.input,
      h("div.drop-progress", this.bar, this.status),
    );
  }

  async take(file) {
    if (!file) return;
    this.bar.hidden = false;
    this.bar.value = 0;
    this.status.className = "muted drop-status";
    this.status.textContent = `uploading ${file.name} (${(file.size / MB).toFixed(1)} MB)…`;
    try {
      const stored = await api.uploadFile(file, (sent, total) => {
        this.bar.value = total ? Math.round((100 * sent) / total) : 0;
      });
      this.bar.value = 100;
      this.status.textContent = `${stored.reused ? "already on the server" : "uploaded"}: ${stored.name}`;
      this.onStored(stored);
    } catch (err) {
      this.bar.hidden = true;
      this.status.className = "error-text drop-status";
      this.status.textContent = `Not uploaded: ${err.detail}`;
    }
  }
}

/** The check's answer in plain lines (or the reason it could not load). */
export function checkReport(r) {
  const lines = [
    `${r.model}, ${r.n_params.toLocaleString()} parameters, ${r.num_classes} classes, ${r.image_size}×${r.image_size} px input`,
    `Clean accuracy on ${r.sample} test images: ${percent(r.clean_accuracy)} (guessing: ${percent(r.chance)})`,
    r.asr === null
      ? r.trigger === "unknown"
        ? "Trigger unknown: ASR and TAR will be measured once a phase (Neural Cleanse) recovers one"
        : "No triggered image to measure ASR on in the sample"
      : `Attack success on the sample: ${percent(r.asr)} of triggered images go to class ${r.target_class}`,
    `Grad-CAM reads layer ${r.cam_layer}`,
    r.forget_size ? `The file lists ${r.forget_size} poisoned training samples (bd_train): the truth a detection phase is scored against, and the forget set when the oracle is on` : null,
  ].filter(Boolean);
  return h(
    `div.check-report${r.warnings.length ? ".warned" : ""}`,
    h("p", h("b", r.warnings.length ? "Model loaded, with warnings" : "Model loaded and checked"), h("span.muted", ` · ${r.seconds.toFixed(1)} s`)),
    h("ul", lines.map((l) => h("li", l))),
    r.warnings.length ? h("ul.check-warnings", r.warnings.map((w) => h("li.warn-text", `⚠ ${w}`))) : null,
  );
}

/** Upload + check under the model section's "Model file" field. */
export class OwnModel {
  constructor(form) {
    this.form = form;
    this.result = h("div.check-result", { role: "status" });
    this.button = h("button.secondary#check-model", { type: "button", onclick: () => this.check() }, "Check the model");
    const zone = new DropZone({
      id: "model-drop",
      accept: ".safetensors,.pt,.pth,.bin,.ckpt,.zip",
      text: "Drop your model file here (.safetensors, .pt, .pth; a BackdoorBench record folder as .zip)",
      onStored: (u) => this.stored(u),
    });
    this.el = h(
      "div.own-model",
      zone.el,
      h("div.check-row", this.button, h("span.muted", " loads it and classifies a sample: a wrong normalisation or class order shows here")),
      this.result,
    );
    const dataZone = new DropZone({
      id: "data-drop",
      accept: ".zip",
      text: "Drop a .zip of your image folder (train/ and test/, a folder per class)",
      onStored: (u) => this.storedData(u),
    });
    this.dataEl = h("div.own-data", dataZone.el);
  }

  set(path, value) {
    const f = this.form.fields.get(path);
    if (!f) return;
    f.input.value = value;
    f.input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  stored(upload) {
    const model = upload.model_files[0];
    if (!model) {
      fill(this.result, h("p.error-text", `No model file (.safetensors, .pt, .pth) in ${upload.name}.`));
      return;
    }
    this.set("model.file", model);
    if (/attack_result\.pt$/.test(model)) this.set("model.source", "backdoorbench");
    if (upload.data_folders[0]) this.storedData(upload);
    fill(this.result, h("p.muted", `Model file set to ${model}. Check it before you start.`));
  }

  storedData(upload) {
    const folder = upload.data_folders[0];
    if (!folder) {
      fill(this.result, h("p.error-text", `${upload.name} has no folder with train/ and test/ inside.`));
      return;
    }
    this.set("data.name", "imagefolder");
    this.set("data.root", folder);
  }

  async check() {
    const { config, errors } = this.form.collect();
    if (errors) {
      fill(this.result, h("p.error-text", "Fix the fields marked in red first."));
      return;
    }
    this.button.disabled = true;
    fill(this.result, h("p.muted", "Loading the model and classifying a sample…"));
    // the check needs the model, the data and the trigger; no schedule (it runs no phase)
    const { seed, data, model, attack, monitor } = config;
    try {
      fill(this.result, checkReport(await api.checkModel({ seed, data, model, attack, monitor })));
    } catch (err) {
      fill(this.result, h("div.check-report.failed", h("p", h("b", "The model did not load")), h("p.error-text", err.errors?.[0]?.replace(/^[\w.]+: /, "") || err.detail)));
    } finally {
      this.button.disabled = false;
    }
  }
}

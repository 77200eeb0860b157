//! results.md: each section of a run as Markdown tables, next to results.json.

use serde::Serialize;

use super::convergence::Convergence;
use super::counters::CostPerModel;
use super::lifecycle::{
    GOAL_IDLE_WRITES, GOAL_WRITES_TO_READY, IN_FLIGHT, Labels, Latency, Lifecycle, PhaseCost,
};
use super::polling::{GOAL_LAG_P99_SECONDS, POLICIES, Policy, Polling};
use super::startup::{
    GOAL_READYZ_SECONDS, GOAL_RSS_MIB, RESTART_CAP, RESTART_MIN, RESTART_QUIET, Startup,
};

/// A figure with three decimals, or "not measured" (absent, or NaN).
fn fig(value: impl Into<Option<f64>>) -> String {
    match value.into().filter(|x| x.is_finite()) {
        Some(x) => format!("{x:.3}"),
        None => "not measured".into(),
    }
}

/// "met" / "**missed**" for `value ≤ goal`, or "not measured".
fn verdict(value: impl Into<Option<f64>>, goal: f64) -> String {
    match value.into().filter(|x| x.is_finite()) {
        Some(x) if x <= goal => "met".into(),
        Some(_) => "**missed**".into(),
        None => "not measured".into(),
    }
}

/// A value as results.json has it (`3.0`, `null`, `{"GetCustomModel":2.0}`).
pub(super) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

pub(super) fn convergence(r: &Convergence) -> String {
    let c = &r.cost_per_model.lifecycle;
    let mut s = format!(
        "\n## {n} resources applied at once\n\n| figure | value | goal |\n|---|---|---|\n\
         | time until all Ready | {t} s | |\n\
         | Ready when the wait ended | {ready_end} | all |\n\
         | floor N/create rate + Creating | {floor} s | |\n\
         | ratio | {ratio} | ≤ 1.15 at N=1000 |\n\
         | {rss_label} | {rss} MiB | ≤ 64 MiB |\n\
         | time to delete all | {del} s | |\n\
         | models left after delete | {left} | 0 |\n",
        n = r.resources,
        t = fig(r.all_ready_seconds),
        ready_end = r.ready_at_end,
        floor = fig(r.floor_seconds),
        ratio = fig(r.ratio),
        rss = fig(r.peak_rss_mib),
        // For the largest size the operator that deletes is the restarted one.
        rss_label = if r.restart.is_none() {
            "peak RSS of the operator"
        } else {
            "peak RSS of the restarted operator (restart → delete all)"
        },
        del = fig(r.delete_seconds),
        left = r.models_left,
    );
    if let Some(st) = &r.steady_state {
        s.push_str(&format!(
            "| idle window | {} s | |\n| API-server writes while idle (bedrockcustommodels, events) | {} {} | 0 |\n\
             | other API-server writes while idle (its own endpoints, leases) | {} | |\n\
             | Bedrock calls while idle | {} | resync only |\n| operator CPU while idle | {} s | |\n",
            fig(st.idle_seconds),
            json(&st.writes.apiserver_writes),
            json(&st.writes.apiserver_writes_by),
            json(&st.writes.other_apiserver_writes),
            json(&st.bedrock_calls),
            fig(st.cpu_seconds),
        ));
    }
    if let Some(rs) = &r.restart {
        s.push_str(&format!(
            "| restart (SIGKILL): /readyz 200 after, with {} resources present | {} s | ≤ 10 s at 10,000 |\n\
             | peak RSS during convergence (+ idle) | {} MiB | ≤ 64 MiB |\n\
             | peak RSS 30 s after the restart | {} MiB | ≤ 64 MiB |\n",
            rs.resources_present,
            fig(rs.readyz_seconds),
            fig(rs.peak_rss_mib_convergence),
            fig(rs.peak_rss_mib_after_restart_30s),
        ));
    }
    // Cost per lifecycle, by window.
    let create = &r.cost_per_model.phases.create_to_ready;
    let delete = &r.cost_per_model.phases.delete;
    s.push_str(
        "\nCost per model. Windows: **create → all Ready** from the first POST until every \
         resource is Ready and the counters are quiet for 3 s; **delete** from the first DELETE \
         until every resource is gone and the counters are quiet for 3 s; **lifecycle** = both. \
         The idle window and the restart are in neither.\n\n\
         | figure | create → all Ready | delete | lifecycle | goal |\n|---|---|---|---|---|\n",
    );
    let row = |s: &mut String, label: &str, figure: fn(&CostPerModel) -> f64, goal: &str| {
        s.push_str(&format!(
            "| {label} | {} | {} | {} | {goal} |\n",
            fig(figure(create)),
            fig(figure(delete)),
            fig(figure(c)),
        ));
    };
    row(
        &mut s,
        "accepted CreateCustomModel per model",
        |c| c.create_accepted_per_model,
        "1",
    );
    row(
        &mut s,
        "CreateCustomModel calls per model (incl. throttled)",
        |c| c.create_calls_per_model,
        "",
    );
    s.push_str(&format!(
        "| throttled Bedrock calls, total (of which Create) | {} ({}) | {} ({}) | {} ({}) | |\n",
        json(&create.throttled_total),
        json(&create.create_throttled_total),
        json(&delete.throttled_total),
        json(&delete.create_throttled_total),
        json(&c.throttled_total),
        json(&c.create_throttled_total),
    ));
    row(&mut s, "GetCustomModel per model", |c| c.get_per_model, "");
    row(
        &mut s,
        "ListCustomModels per model",
        |c| c.list_per_model,
        "",
    );
    row(
        &mut s,
        "ListTagsForResource per model",
        |c| c.list_tags_per_model,
        "",
    );
    row(
        &mut s,
        "Bedrock reads per model (Get + List + ListTags)",
        |c| c.bedrock_reads_per_model,
        "",
    );
    row(
        &mut s,
        "tagging calls per model (Tag + Untag + ListTags)",
        |c| c.tagging_calls_per_model,
        "0",
    );
    row(
        &mut s,
        "DeleteCustomModel per model",
        |c| c.delete_per_model,
        "",
    );
    let kind = |v: &CostPerModel, k: &str| fig(v.bcm_writes_by_kind.get(k).copied());
    s.push_str(&format!(
        "| writes to bedrockcustommodels per model | {} | {} | {} | ≤ 3 create → Active (finalizer, Creating, Active): {} |\n",
        fig(create.bcm_writes_per_model),
        fig(delete.bcm_writes_per_model),
        fig(c.bcm_writes_per_model),
        verdict(create.bcm_writes_per_model, 3.0),
    ));
    for (k, label) in [
        (
            "finalizer",
            "finalizer (PATCH/APPLY of the object's metadata)",
        ),
        ("status", "status (status subresource)"),
        ("other", "other"),
    ] {
        s.push_str(&format!(
            "| … {label} | {} | {} | {} | |\n",
            kind(create, k),
            kind(delete, k),
            kind(c, k)
        ));
    }
    s.push_str(&format!(
        "| … by verb | {} | {} | {} | |\n",
        json(&create.bcm_writes_by_verb),
        json(&delete.bcm_writes_by_verb),
        json(&c.bcm_writes_by_verb)
    ));
    row(
        &mut s,
        "writes to events per model",
        |c| c.event_writes_per_model,
        "",
    );
    row(
        &mut s,
        "operator CPU seconds per model",
        |c| c.cpu_seconds_per_model,
        "",
    );
    s.push_str(&format!(
        "\nPlot: `ready-{}.svg` (resources Ready over time since the first POST, and the floor).\n",
        r.resources
    ));
    s
}

pub(super) fn startup(r: &Startup) -> String {
    let rs = &r.restart;
    let n = r.resources;
    let at = if n == 10_000 {
        String::new()
    } else {
        format!(" (the goal is for 10,000; measured with {n})")
    };
    let peak = |v: f64| {
        format!(
            "{} MiB | ≤ {GOAL_RSS_MIB} MiB: {}{at}",
            fig(v),
            verdict(v, GOAL_RSS_MIB)
        )
    };
    let mut s = format!(
        "\n## Start-up with {n} resources present\n\n\
         Emulator without throttling, imports Creating for {creating} s; operator flags `{flags}`.\n\
         The converged operator is stopped with SIGTERM and a fresh one started with the same flags.\n\n\
         | figure | value | goal |\n|---|---|---|\n\
         | resources applied (POST, 32 in flight) in | {apply} s | |\n\
         | time until all Ready | {ready} s | |\n\
         | Ready when the wait ended | {ready_end} | {n} |\n\
         | peak RSS while converging them | {peak_conv} |\n\
         | operator CPU while converging | {cpu_conv} s | |\n\
         | SIGTERM to exit | {stop} s | |\n\
         | restart: spawn to /readyz 200 | {readyz} s | ≤ {GOAL_READYZ_SECONDS} s: {readyz_verdict}{at} |\n\
         | restart: peak RSS (spawn to the end of the window) | {peak_restart} |\n\
         | restart: window watched (from spawn) | {window} s | |\n\
         | restart: last Bedrock call or API-server write seen (from spawn, ±1 s) | {last} s{capped} | |\n\
         | restart: Bedrock calls, by operation | {calls} | |\n\
         | restart: API-server writes (bedrockcustommodels, events) | {writes} {writes_by} | 0 |\n\
         | restart: operator CPU | {cpu} s | |\n\
         | time to delete all | {del} s | |\n\
         | resources left / models left | {res_left} / {models_left} | 0 / 0 |\n",
        creating = json(&r.creating_seconds),
        flags = r.operator_flags.join(" "),
        apply = fig(r.apply_seconds),
        ready = fig(r.all_ready_seconds),
        ready_end = r.ready_at_end,
        peak_conv = peak(r.peak_rss_mib_converging),
        cpu_conv = fig(r.cpu_seconds_converging),
        stop = fig(r.stop_seconds),
        readyz = fig(rs.readyz_seconds),
        readyz_verdict = verdict(rs.readyz_seconds, GOAL_READYZ_SECONDS),
        peak_restart = peak(rs.peak_rss_mib),
        window = fig(rs.window_seconds),
        last = fig(rs.last_activity_seconds),
        capped = if rs.went_quiet {
            String::new()
        } else {
            format!(" (still active at the {} s cap)", RESTART_CAP.as_secs())
        },
        calls = json(&rs.bedrock_calls),
        writes = json(&rs.writes.apiserver_writes),
        writes_by = json(&rs.writes.apiserver_writes_by),
        cpu = fig(rs.cpu_seconds),
        del = fig(r.delete_seconds),
        res_left = json(&r.resources_left),
        models_left = r.models_left,
    );
    s.push_str(&format!(
        "\nThe restart window runs at least {} s from the spawn, then until neither the \
         emulator's counters nor the operator's API-server writes moved for {} s (at most {} s).\n",
        RESTART_MIN.as_secs(),
        RESTART_QUIET.as_secs(),
        RESTART_CAP.as_secs()
    ));
    s
}

pub(super) fn polling(p: &Polling) -> String {
    let mut s = format!(
        "\n## Polling policies ({} models each, imports {}–{} s)\n\n\
         | policy | GetCustomModel per model | ListCustomModels per model | Bedrock reads per model (Get + List + ListTags) | lag p50 (s) | lag p99 (s) | lag max (s) |\n\
         |---|---|---|---|---|---|---|\n",
        p.models_per_policy,
        json(&p.import_seconds_min),
        json(&p.import_seconds_max)
    );
    let lag = |v: Option<f64>| match v.filter(|x| x.is_finite()) {
        Some(x) => format!("{x:.1}"),
        None => "not measured".into(),
    };
    for row in &p.policies {
        let flags = row.flags.join(" ");
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" (`{flags}`)")
        };
        let not_ready = if row.all_ready {
            ""
        } else {
            " — not all Ready by the deadline"
        };
        s.push_str(&format!(
            "| {}{flags}{not_ready} | {:.2} | {:.2} | {:.2} | {} | {} | {} |\n",
            row.policy,
            row.get_per_model,
            row.list_per_model,
            row.reads_per_model,
            lag(row.lag_p50_seconds),
            lag(row.lag_p99_seconds),
            lag(row.lag_max_seconds),
        ));
    }
    s.push_str(
        "\nCalls cover each configuration from its operator's start until its own resources were \
         all Ready (the look before the create and the polls or sweeps; not the delete). \
         ListCustomModels is one call per region per sweep (per page), shared by all models \
         Creating at the time, so its per-model figure falls as M grows. \
         Lag: Ready's lastTransitionTime (whole seconds) minus the emulator's readyTime.\n",
    );
    s.push_str(
        "\nPlot: `ready-policies.svg` (resources Ready over time since the first POST, one line \
         per configuration, and the imports that had ended in Bedrock).\n",
    );
    let find = |name: &str| p.policies.iter().find(|r| r.policy == name);
    if let (Some(default), Some(fixed)) = (find(POLICIES[0].0), find("fixed 30s")) {
        let fewer = |figure: fn(&Policy) -> f64| {
            let (d, x) = (figure(default), figure(fixed));
            if !(d.is_finite() && x.is_finite()) {
                "not measured".into()
            } else if d < x {
                format!("{d:.2} < {x:.2}: met")
            } else {
                format!("{d:.2} ≥ {x:.2}: **missed**")
            }
        };
        let lag_verdict = verdict(default.lag_p99_seconds, GOAL_LAG_P99_SECONDS);
        let reads = fewer(|p| p.reads_per_model);
        let overall = if lag_verdict == "met" && reads.ends_with(": met") {
            "met"
        } else {
            "**missed**"
        };
        s.push_str(&format!(
            "\nGoal: lag p99 ≤ {GOAL_LAG_P99_SECONDS} s with fewer Bedrock calls than fixed 30s — {overall}.\n\n\
             - default lag p99 {} s ≤ {GOAL_LAG_P99_SECONDS} s: {lag_verdict}\n\
             - Bedrock reads per model, default vs fixed 30s: {reads}\n\
             - GetCustomModel per model, default vs fixed 30s: {}\n",
            lag(default.lag_p99_seconds),
            fewer(|p| p.get_per_model),
        ));
    }
    s
}

/// A lifecycle section (g, h, i). A kind that serves no model has no model and no swap
/// figures: its rows, sentences and column are left out.
pub(super) fn lifecycle(d: &Lifecycle, labels: &Labels) -> String {
    let Labels {
        kind,
        one,
        many,
        swap,
        swapped,
        swapped_when,
        creating: creating_label,
        ready_writes,
        ..
    } = labels;
    let p = &d.phases;
    let serving = p.swap.is_some();
    let flags = if d.extra_operator_flags.is_empty() {
        "the bench's operator flags".to_string()
    } else {
        format!(
            "the bench's operator flags plus `{}`",
            d.extra_operator_flags.join(" ")
        )
    };
    let seconds = |l: &Latency| {
        format!(
            "{} / {} / {}",
            fig(l.p50_seconds),
            fig(l.p99_seconds),
            fig(l.max_seconds)
        )
    };
    let met = |ok: bool| if ok { "met" } else { "**missed**" };
    let mut s = format!("\n## {n} {many} ({kind})", n = d.objects);
    if let Some(models_ready) = d.models_ready_seconds {
        s.push_str(&format!(
            ", one model each\n\n\
             The {models} models (one per {one}, one each swaps to) were Active first \
             ({models_ready} s). ",
            models = d.objects * 2,
            models_ready = fig(models_ready),
        ));
    } else {
        s.push_str(&format!(
            "\n\nNo models and no swap window: the {many} reference no model. "
        ));
    }
    s.push_str(&format!(
        "Emulator: {creating_label} for {creating} s",
        creating = json(&d.creating_seconds),
    ));
    if let Some(updating) = d.updating_seconds {
        s.push_str(&format!(
            ", model swaps Updating for {updating} s",
            updating = json(&updating),
        ));
    }
    s.push_str(&format!(
        ", no throttling of {one} operations; {flags}.\n\n\
         | figure | value | goal |\n|---|---|---|\n\
         | {many} POSTed ({IN_FLIGHT} in flight) in | {apply} s | |\n\
         | first POST → all Ready | {ready} s | |\n\
         | time to Ready per {one}, p50 / p99 / max (POST → first version with Ready True) | {ttr} s | |\n",
        apply = fig(d.apply_seconds),
        ready = fig(d.all_ready_seconds),
        ttr = seconds(&d.time_to_ready),
    ));
    if let (Some(all_swapped), Some(tts)) = (d.all_swapped_seconds, &d.time_to_swap) {
        s.push_str(&format!(
            "| first modelRef PATCH → all {swapped} | {all_swapped} s | |\n\
             | time to {swap} per {one}, p50 / p99 / max (PATCH → {swapped_when}) | {tts} s | |\n",
            all_swapped = fig(all_swapped),
            tts = seconds(tts),
        ));
    }
    s.push_str(&format!(
        "| first DELETE → all gone | {del} s | |\n",
        del = fig(d.delete_seconds),
    ));
    match d.models_left {
        Some(models_left) => s.push_str(&format!(
            "| {many} / models left in Bedrock | {left} / {models_left} | 0 / 0 |\n",
            left = d.left_in_bedrock,
        )),
        None => s.push_str(&format!(
            "| {many} left in Bedrock | {left} | 0 |\n",
            left = d.left_in_bedrock,
        )),
    }
    s.push_str(&format!(
        "\nGoals: writes per {one} from create to Ready ({ready_writes}) ≤ {GOAL_WRITES_TO_READY} — {}; \
         writes in the idle window {GOAL_IDLE_WRITES} — {}.\n",
        met(d.goals.writes_to_ready_met),
        d.goals.idle_writes_met.map(met).unwrap_or("not measured"),
    ));
    if serving {
        s.push_str(&format!(
            "\nCost per {one}. Windows: **create → Ready** from the first POST until every \
             {one} is Ready and the counters are quiet for 3 s; **idle** the idle window; \
             **{swap}** from the first modelRef PATCH until every {one} serves its new model \
             and the counters are quiet for 3 s; **delete** from the first DELETE until every \
             {one} is gone, plus 3 s of quiet; **lifecycle** = create + {swap} + delete. \
             Writes are the operator's: per {one} from a watch (each new version of the \
             object; the user's create, spec change and deletion left out), and as write requests \
             from `apiserver_request_total` (the benchmark's modelRef PATCHes left out).\n\n\
             | figure | create → Ready | idle | {swap} | delete | lifecycle | goal |\n\
             |---|---|---|---|---|---|---|\n",
        ));
    } else {
        s.push_str(&format!(
            "\nCost per {one}. Windows: **create → Ready** from the first POST until every \
             {one} is Ready and the counters are quiet for 3 s; **idle** the idle window; \
             **delete** from the first DELETE until every {one} is gone, plus 3 s of quiet; \
             **lifecycle** = create + delete. \
             Writes are the operator's: per {one} from a watch (each new version of the \
             object; the user's create and deletion left out), and as write requests \
             from `apiserver_request_total`.\n\n\
             | figure | create → Ready | idle | delete | lifecycle | goal |\n\
             |---|---|---|---|---|---|\n",
        ));
    }
    // An absent idle window is a column of "—"; the swap column only for a kind that has one.
    let mut columns = vec![Some(&p.create_to_ready), p.idle.as_ref()];
    if let Some(swap) = &p.swap {
        columns.push(Some(swap));
    }
    columns.extend([Some(&p.delete), Some(&d.lifecycle)]);
    let row = |s: &mut String, label: &str, figure: &dyn Fn(&PhaseCost) -> String, goal: &str| {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| c.map(figure).unwrap_or_else(|| "—".into()))
            .collect();
        s.push_str(&format!("| {label} | {} | {goal} |\n", cells.join(" | ")));
    };
    row(&mut s, "window (s)", &|c| fig(c.seconds), "");
    row(
        &mut s,
        &format!("operator writes per {one}, mean (watch)"),
        &|c| fig(c.writes.mean),
        "",
    );
    row(
        &mut s,
        &format!("… min / max over the {many}"),
        &|c| format!("{} / {}", c.writes.min, c.writes.max),
        &format!("max ≤ {GOAL_WRITES_TO_READY} create → Ready, 0 idle"),
    );
    row(
        &mut s,
        &format!("… {many} by count (count: {many})"),
        &|c| json(&c.writes.histogram),
        "",
    );
    row(
        &mut s,
        &format!("write requests per {one} (API server)"),
        &|c| fig(c.write_requests_per_object),
        "",
    );
    for (kind, label) in [
        ("finalizer", "… finalizer (PATCH/APPLY of the object)"),
        ("status", "… status (status subresource)"),
        ("other", "… other"),
    ] {
        row(
            &mut s,
            label,
            &|c| fig(c.write_requests_by_kind.get(kind).copied()),
            "",
        );
    }
    row(
        &mut s,
        "… by verb",
        &|c| json(&c.write_requests_by_verb),
        "",
    );
    row(
        &mut s,
        &format!("writes to events per {one} (both kinds)"),
        &|c| fig(c.event_writes_per_object),
        "",
    );
    row(
        &mut s,
        &format!("Bedrock calls per {one} (incl. throttled)"),
        &|c| fig(c.bedrock_calls_per_object),
        "reported",
    );
    row(
        &mut s,
        "… of which throttled",
        &|c| fig(c.throttled_calls_per_object),
        "",
    );
    let mut operations: Vec<&String> = columns
        .iter()
        .flatten()
        .flat_map(|c| c.bedrock_calls_by_operation.keys())
        .collect();
    operations.sort();
    operations.dedup();
    for op in operations {
        row(
            &mut s,
            &format!("… {op}"),
            &|c| fig(c.bedrock_calls_by_operation.get(op).copied().unwrap_or(0.0)),
            "",
        );
    }
    row(
        &mut s,
        &format!("operator CPU seconds per {one}"),
        &|c| fig(c.cpu_seconds_per_object),
        "",
    );
    s
}

/// results.md of `cargo xtask bench pod`: the Pod's cgroup figures of each scenario against
/// the chart's requests and limits.
pub(super) fn pod(r: &super::pod::PodResults) -> String {
    use super::cgroup::Peaks;
    let chart = &r.chart;
    let mut s = format!(
        "# bedrock-operator Pod benchmark {run}\n\nMachine: {machine}\n\nSettings: `{settings}`\n\n\
         Chart resources now: `{chart}`\n",
        run = r.run,
        machine = r.machine,
        settings = json(&r.settings),
        chart = json(chart),
    );
    // (heading, cgroup figures, all Ready after, the process's VmHWM)
    let mut columns: Vec<(String, &Peaks, Option<f64>, Option<f64>)> = Vec::new();
    if let Some(c) = &r.converging {
        columns.push((
            format!("1: {} converging", c.resources),
            &c.cgroup,
            c.all_ready_seconds,
            c.process_peak_rss_mib,
        ));
    }
    if let Some(g) = &r.growing {
        columns.push((
            format!("first Pod: {} more, to {}", g.created, g.resources),
            &g.cgroup,
            g.all_ready_seconds,
            g.process_peak_rss_mib,
        ));
    }
    if let Some(x) = &r.restart {
        columns.push((
            format!("2: new Pod, {} present", x.resources),
            &x.cgroup,
            None,
            x.process_peak_rss_mib,
        ));
    }
    if columns.is_empty() {
        return s;
    }
    let mib = |x: Option<f64>| match x.filter(|x| x.is_finite()) {
        Some(x) => format!("{x:.1} MiB"),
        None => "—".into(),
    };
    let milli = |x: Option<f64>| match x.filter(|x| x.is_finite()) {
        Some(x) => format!("{x:.0}m"),
        None => "—".into(),
    };
    let secs = |x: Option<f64>| match x.filter(|x| x.is_finite()) {
        Some(x) => format!("{x:.1} s"),
        None => "—".into(),
    };
    s.push_str("\n| figure |");
    for (name, _, _, _) in &columns {
        s.push_str(&format!(" {name} |"));
    }
    s.push_str(" chart now |\n|---|");
    s.push_str(&"---|".repeat(columns.len() + 1));
    s.push('\n');
    let mut row = |label: &str, cell: &dyn Fn(&Peaks, Option<f64>) -> String, chart: String| {
        s.push_str(&format!("| {label} |"));
        for (_, peaks, ready, _) in &columns {
            s.push_str(&format!(" {} |", cell(peaks, *ready)));
        }
        s.push_str(&format!(" {chart} |\n"));
    };
    row(
        "peak working set (usage − inactive_file, 1 s samples)",
        &|p, _| mib(Some(p.peak_working_set_mib)),
        format!("request {}", mib(chart.request_memory_mib)),
    );
    row(
        "working set at the end of the window",
        &|p, _| mib(Some(p.end_working_set_mib)),
        String::new(),
    );
    row(
        "peak usage incl. page cache (memory.max_usage_in_bytes, since the Pod started)",
        &|p, _| mib(p.peak_usage_mib),
        format!("limit {}", mib(chart.limit_memory_mib)),
    );
    row(
        "peak rss / peak cache",
        &|p, _| {
            format!(
                "{} / {}",
                mib(Some(p.peak_rss_mib)),
                mib(Some(p.peak_cache_mib))
            )
        },
        String::new(),
    );
    row(
        "peak CPU over 1 s",
        &|p, _| milli(Some(p.peak_cpu_1s_millicores)),
        format!(
            "limit {}",
            chart
                .limit_cpu_millicores
                .map(|x| format!("{x:.0}m"))
                .unwrap_or_else(|| "none".into())
        ),
    );
    row(
        "peak CPU over 10 s",
        &|p, _| milli(Some(p.peak_cpu_10s_millicores)),
        String::new(),
    );
    row(
        "mean CPU over the window",
        &|p, _| milli(Some(p.mean_cpu_millicores)),
        format!("request {}", milli(chart.request_cpu_millicores)),
    );
    row(
        "window",
        &|p, _| secs(Some(p.window_seconds)),
        String::new(),
    );
    row(
        "all resources Ready after",
        &|_, ready| secs(ready),
        String::new(),
    );
    row(
        "memory limit / peak usage incl. cache",
        &|p, _| match (chart.limit_memory_mib, p.peak_usage_mib) {
            (Some(limit), Some(peak)) if peak > 0.0 => format!("{:.2}×", limit / peak),
            _ => "—".into(),
        },
        String::new(),
    );
    s.push_str("| the process's VmHWM (binary pages included) |");
    for (_, _, _, hwm) in &columns {
        s.push_str(&format!(" {} |", mib(*hwm)));
    }
    s.push_str(" |\n");
    if let Some(x) = &r.restart {
        s.push_str(&format!(
            "\nScenario 2: the new Pod Ready {} after its creation (timestamps, whole seconds), \
             {} after the DELETE of the old one; its cgroup watched for {} (last Bedrock call \
             or write at {}, {}); container restarts: {}.\n",
            secs(x.pod_created_to_ready_seconds),
            secs(Some(x.delete_to_ready_seconds)),
            secs(Some(x.cgroup.window_seconds)),
            secs(Some(x.last_activity_seconds)),
            if x.went_quiet {
                "then quiet"
            } else {
                "still active at the cap"
            },
            x.container_restarts,
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::deployments::Deployments;
    use super::super::imports::Imports;
    use super::super::lifecycle::{Goals, Kind, Phases};
    use super::super::versions::Spread;
    use super::*;

    fn cost() -> PhaseCost {
        PhaseCost {
            seconds: 10.0,
            writes: Spread::default(),
            write_requests_per_object: 3.0,
            write_requests_by_kind: BTreeMap::new(),
            write_requests_by_verb: BTreeMap::new(),
            event_writes_per_object: 1.0,
            bedrock_calls_per_object: 4.0,
            bedrock_calls_by_operation: BTreeMap::from([("GetImportedModel".into(), 1.0)]),
            throttled_calls_per_object: 0.0,
            cpu_seconds_per_object: 0.01,
        }
    }

    /// A section's figures as `run_lifecycle` fills them in for kind `K`.
    fn section<K: Kind>() -> Lifecycle {
        let latency = Latency {
            p50_seconds: Some(10.0),
            p99_seconds: Some(11.0),
            max_seconds: Some(11.0),
        };
        let serving = K::SERVES_MODEL;
        Lifecycle {
            kind: K::LABELS.kind,
            objects: 20,
            namespace: "bench".into(),
            extra_operator_flags: Vec::new(),
            creating_seconds: 10.0,
            updating_seconds: serving.then_some(10.0),
            models_ready_seconds: serving.then_some(12.0),
            apply_seconds: 0.5,
            all_ready_seconds: 11.0,
            time_to_ready: latency.clone(),
            all_swapped_seconds: serving.then_some(11.0),
            time_to_swap: serving.then_some(latency),
            delete_seconds: 1.0,
            left_in_bedrock: 0,
            models_left: serving.then_some(0),
            phases: Phases {
                create_to_ready: cost(),
                idle: Some(cost()),
                swap: serving.then(cost),
                delete: cost(),
            },
            lifecycle: cost(),
            goals: Goals {
                writes_to_ready_met: true,
                idle_writes_met: Some(true),
            },
        }
    }

    #[test]
    fn a_kind_without_a_model_has_no_model_or_swap_figures() {
        let imports = section::<Imports>();
        let markdown = lifecycle(&imports, &Imports::LABELS);
        assert!(markdown.starts_with("\n## 20 imports (BedrockImportedModel)\n\n"));
        for absent in [
            "models left",
            "were Active first",
            "one model each",
            "modelRef PATCH",
            "Updating",
            "rollout",
        ] {
            assert!(
                !markdown.contains(absent),
                "{absent:?} in the imports' section:\n{markdown}"
            );
        }
        assert!(
            markdown.contains("| figure | create → Ready | idle | delete | lifecycle | goal |")
        );
        assert!(markdown.contains("| imports left in Bedrock | 0 | 0 |"));
        assert!(markdown.contains("import jobs InProgress for 10.0 s"));
        let json = serde_json::to_value(&imports).expect("serializes");
        for absent in [
            "modelsReadySeconds",
            "modelsLeft",
            "updatingSeconds",
            "allSwappedSeconds",
            "timeToSwap",
        ] {
            assert!(json.get(absent).is_none(), "{absent} in {json}");
        }
        assert!(json["phases"].get("swap").is_none());
        assert!(json["phases"].get("delete").is_some());
    }

    #[test]
    fn a_kind_serving_a_model_keeps_its_model_and_swap_figures() {
        let deployments = section::<Deployments>();
        let markdown = lifecycle(&deployments, &Deployments::LABELS);
        assert!(
            markdown.starts_with(
                "\n## 20 deployments (BedrockCustomModelDeployment), one model each\n\n"
            )
        );
        assert!(
            markdown.contains(
                "| figure | create → Ready | idle | rollout | delete | lifecycle | goal |"
            )
        );
        assert!(markdown.contains("| first modelRef PATCH → all rolled out | 11.000 s | |"));
        assert!(markdown.contains("| deployments / models left in Bedrock | 0 / 0 | 0 / 0 |"));
        let json = serde_json::to_value(&deployments).expect("serializes");
        for present in [
            "modelsReadySeconds",
            "modelsLeft",
            "updatingSeconds",
            "allSwappedSeconds",
            "timeToSwap",
        ] {
            assert!(json.get(present).is_some(), "no {present} in {json}");
        }
        assert!(json["phases"].get("swap").is_some());
    }
}

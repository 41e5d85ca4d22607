//! What `vmpush push` and `vmpush status` show: a bar for the drop's bytes and one line per
//! destination (uploading / importing n% / copying / publishing / RHSM / done / failed), drawn
//! by indicatif on a terminal and printed as changes otherwise; then a table of the result on
//! stderr and the result document on stdout.

use std::cell::RefCell;
use std::io::IsTerminal;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use vmpush_domain::payloads::Progress;

/// The live display.
pub struct Display {
    multi: MultiProgress,
    tty: bool,
    lines: RefCell<Vec<(ProgressBar, String)>>,
}

impl Display {
    /// A display on stderr.
    pub fn new() -> Display {
        let tty = std::io::stderr().is_terminal();
        let target = if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Display {
            multi: MultiProgress::with_draw_target(target),
            tty,
            lines: RefCell::new(Vec::new()),
        }
    }

    /// A byte counter for an upload of `total` bytes.
    pub fn bytes(&self, total: u64, what: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(what.to_string());
        if !self.tty {
            eprintln!("{what}: {total} bytes");
        }
        bar
    }

    /// A one-off line.
    pub fn note(&self, text: &str) {
        if self.tty {
            let _ = self.multi.println(text);
        } else {
            eprintln!("{text}");
        }
    }

    /// Shows each destination's step; off a terminal, prints only lines that changed.
    pub fn destinations(&self, progress: &[Progress]) {
        let mut lines = self.lines.borrow_mut();
        for (i, p) in progress.iter().enumerate() {
            let text = format!("{:<52} {:<15} {}", p.name, p.region, p.step);
            if i == lines.len() {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                lines.push((bar, String::new()));
            }
            let (bar, last) = &mut lines[i];
            if *last != text {
                if !self.tty {
                    eprintln!("  {text}");
                }
                bar.set_message(text.clone());
                *last = text;
            }
            bar.tick();
        }
    }

    /// Leaves the last state on screen.
    pub fn finish(&self) {
        for (bar, _) in self.lines.borrow().iter() {
            bar.finish();
        }
    }
}

/// Prints the result: a table on stderr, the document on stdout.
pub fn print_result(result: &Value) {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(["name", "region", "state", "ami", "error"]);
    for d in result["destinations"].as_array().into_iter().flatten() {
        let text = |key: &str| d[key].as_str().unwrap_or("").to_string();
        table.add_row([
            text("name"),
            text("region"),
            text("state"),
            text("ami"),
            text("error"),
        ]);
    }
    eprintln!("{table}");
    eprintln!(
        "push {}: {}{}",
        result["push_id"].as_str().unwrap_or(""),
        result["state"].as_str().unwrap_or(""),
        result["error"]
            .as_str()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    println!(
        "{}",
        serde_json::to_string_pretty(result).unwrap_or_default()
    );
}

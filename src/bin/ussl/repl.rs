//! The interactive prompt: rustyline line editing, history kept across sessions, and Ctrl-C that
//! stops a stream instead of killing the program.
//!
//! While rustyline reads a line the terminal is in raw mode, so Ctrl-C arrives as a key (it clears
//! the line); while a command waits for the server, it arrives as SIGINT, which raises the
//! session's interrupt flag and brings the prompt back.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rustyline::config::Config;
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::session::{Outcome, Session};

/// The prompt, as in the seed README's transcript.
const PROMPT: &str = "ussl> ";
/// The prompt while no connection is open (it was lost, or a stream was stopped).
const PROMPT_DISCONNECTED: &str = "ussl (not connected)> ";
/// Most lines kept in the history file.
const HISTORY_LINES_MAX: usize = 1000;
/// The history file's name in the home directory.
const HISTORY_FILE: &str = ".ussl_history";

/// Runs the prompt until `quit`, `exit` or Ctrl-D. Returns the process exit status.
pub fn run(session: &mut Session, interrupt: &Arc<AtomicBool>) -> i32 {
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(interrupt))
    {
        eprintln!("ussl: cannot handle Ctrl-C ({e}); it will end the program");
    }
    let config = Config::builder()
        .max_history_size(HISTORY_LINES_MAX)
        .map(|b| b.auto_add_history(false).build());
    let editor = config.and_then(DefaultEditor::with_config);
    let mut editor = match editor {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("ussl: cannot start the line editor: {e}");
            return 1;
        }
    };
    let history = history_path();
    if let Some(path) = &history {
        // A missing file is the first session; any other problem only costs the history.
        let _ = editor.load_history(path);
    }
    loop {
        let prompt = if session.is_connected() {
            PROMPT
        } else {
            PROMPT_DISCONNECTED
        };
        match editor.readline(prompt) {
            Ok(line) => {
                remember(&mut editor, history.as_ref(), &line);
                if session.run_line(&line) == Outcome::Quit {
                    return 0;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return 0,
            Err(e) => {
                eprintln!("ussl: cannot read the terminal: {e}");
                return 1;
            }
        }
    }
}

/// Words whose lines are not kept in the history: AUTH would write the password to disk, and
/// the words that leave would make Up in the next session recall "quit" instead of a command.
const NOT_REMEMBERED: &[&str] = &["AUTH", "QUIT", "EXIT"];

/// Adds a line to the history and appends it to the file, except blank lines,
/// [`NOT_REMEMBERED`] ones and `HELLO ... AUTH user password`.
fn remember(editor: &mut DefaultEditor, history: Option<&PathBuf>, line: &str) {
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or("");
    let hello_auth =
        first.eq_ignore_ascii_case("HELLO") && words.any(|w| w.eq_ignore_ascii_case("AUTH"));
    if first.is_empty()
        || hello_auth
        || NOT_REMEMBERED.iter().any(|w| first.eq_ignore_ascii_case(w))
    {
        return;
    }
    if editor.add_history_entry(line).unwrap_or(false) {
        if let Some(path) = history {
            if let Err(e) = editor.append_history(path) {
                eprintln!("ussl: cannot write the history to {}: {e}", path.display());
            }
        }
    }
}

/// `$USSL_HISTFILE`, else `~/.ussl_history`; `None` when there is no home directory.
fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("USSL_HISTFILE") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(HISTORY_FILE))
}

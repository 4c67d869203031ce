//! `envcredit checkpoint`: the database's head as a line to pin in the configuration.

use crate::config::Config;
use crate::store::Store;
use crate::{Error, Result};

/// Prints `checkpoint = { sequence = N, hash = "…" }` for the store's head (its own sequence and
/// payload hash). Pinned in the configuration of every instance after an import, it makes a
/// database restored from an older backup refuse to serve (docs/operations.md).
pub fn checkpoint(config: &Config) -> Result<()> {
    let store = Store::open_existing(&config.database_url)?;
    let Some((sequence, hash)) = store.head()? else {
        return Err(Error::BadRequest(
            "the database holds no bundle yet: import one first".to_string(),
        ));
    };
    println!("checkpoint = {{ sequence = {sequence}, hash = \"{hash}\" }}");
    Ok(())
}

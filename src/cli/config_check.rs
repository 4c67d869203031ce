//! `envcredit config check`: the configuration as `serve` would read it, checked, and the
//! effective settings printed with secrets masked.

use std::net::ToSocketAddrs;

use crate::config::Config;
use crate::highwater::HighWater;
use crate::store::Store;
use crate::{Error, Result};

/// Checks what loading alone does not — the listen address resolves, the database URL is one,
/// the high-water settings fit the database (PostgreSQL needs `state_file`), the receipt key
/// file is readable and is the registry's own — then prints the effective settings (file, then
/// environment, then flags) as TOML, the database password and partner keys masked. It does not
/// connect to the database.
pub fn config_check(config: &Config) -> Result<()> {
    let resolved = config
        .listen
        .to_socket_addrs()
        .map_err(|e| {
            Error::Config(format!(
                "listen: {:?} is not an address: {e}",
                config.listen
            ))
        })?
        .next();
    if resolved.is_none() {
        return Err(Error::Config(format!(
            "listen: {:?} resolves to no address",
            config.listen
        )));
    }
    Store::locate(&config.database_url)?;
    HighWater::from_config(config)?;
    config.trusted_keys()?;
    config.receipt_key()?;
    let settings = config.to_masked_toml()?;
    println!(
        "# envcredit: the configuration is valid. Effective settings (the file, then ENVCREDIT_*"
    );
    println!(
        "# environment variables, then flags), secrets masked as \"{}\":",
        crate::config::MASK
    );
    print!("{settings}");
    Ok(())
}

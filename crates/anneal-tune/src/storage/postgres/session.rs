//! One connection with its prepared statements. The `postgres` crate prepares a statement given
//! as text on every call (a round trip to parse it, then one to run it) and has no statement
//! cache of its own; a study issues the same dozen statements for every trial, so each is
//! prepared once per connection here and every later call is a single round trip. A new
//! connection (after the server restarted) starts with an empty cache.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Statement, Transaction};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The prepared statements of one connection, by their text.
#[derive(Default)]
struct Prepared(HashMap<String, Statement>);

/// A connection (or a transaction on it) seen through its prepared statements: the calls the
/// storage makes, each preparing its statement on first use.
struct Cached<'a, C: GenericClient> {
    client: &'a mut C,
    prepared: &'a mut Prepared,
}

impl<C: GenericClient> Cached<'_, C> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.prepared.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.prepared.0.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    fn execute(&mut self, sql: &str, params: Params) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }

    fn query(&mut self, sql: &str, params: Params) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    fn query_opt(&mut self, sql: &str, params: Params) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params)
    }

    fn query_one(&mut self, sql: &str, params: Params) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_one(&statement, params)
    }
}

/// A connection to the server and the statements prepared on it.
pub(super) struct Session {
    client: Client,
    prepared: Prepared,
}

impl Session {
    pub(super) fn new(client: Client) -> Self {
        Self {
            client,
            prepared: Prepared::default(),
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    fn cached(&mut self) -> Cached<'_, Client> {
        Cached {
            client: &mut self.client,
            prepared: &mut self.prepared,
        }
    }

    pub(super) fn execute(&mut self, sql: &str, params: Params) -> Result<u64, postgres::Error> {
        self.cached().execute(sql, params)
    }

    pub(super) fn query(&mut self, sql: &str, params: Params) -> Result<Vec<Row>, postgres::Error> {
        self.cached().query(sql, params)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: Params,
    ) -> Result<Option<Row>, postgres::Error> {
        self.cached().query_opt(sql, params)
    }

    /// A transaction at the server's default isolation (read committed).
    pub(super) fn transaction(&mut self) -> Result<SessionTransaction<'_>, postgres::Error> {
        Ok(SessionTransaction {
            tx: self.client.transaction()?,
            prepared: &mut self.prepared,
        })
    }
}

/// A transaction on a [`Session`], using (and adding to) its prepared statements.
pub(super) struct SessionTransaction<'a> {
    tx: Transaction<'a>,
    prepared: &'a mut Prepared,
}

impl<'a> SessionTransaction<'a> {
    fn cached(&mut self) -> Cached<'_, Transaction<'a>> {
        Cached {
            client: &mut self.tx,
            prepared: &mut *self.prepared,
        }
    }

    pub(super) fn execute(&mut self, sql: &str, params: Params) -> Result<u64, postgres::Error> {
        self.cached().execute(sql, params)
    }

    pub(super) fn query_one(&mut self, sql: &str, params: Params) -> Result<Row, postgres::Error> {
        self.cached().query_one(sql, params)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: Params,
    ) -> Result<Option<Row>, postgres::Error> {
        self.cached().query_opt(sql, params)
    }

    pub(super) fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
}

//! One connection with its prepared statements. The `postgres` crate prepares a statement given
//! as text on every call (a round trip to parse it, then one to run it) and has no statement
//! cache of its own; a study issues the same dozen statements for every trial, so each is
//! prepared once per connection here and every later call is a single round trip. A new
//! connection (after the server restarted) starts with an empty cache.

use std::borrow::BorrowMut;
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Statement, Transaction};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The prepared statements of one connection, by their text.
#[derive(Default)]
pub(super) struct Prepared(HashMap<String, Statement>);

/// A connection, or a transaction on it, with the statements prepared on that connection:
/// each call prepares its statement on first use.
pub(super) struct Cached<C, P> {
    client: C,
    prepared: P,
}

/// A connection to the server and the statements prepared on it.
pub(super) type Session = Cached<Client, Prepared>;

/// A transaction on a [`Session`], using (and adding to) its prepared statements.
pub(super) type SessionTransaction<'a> = Cached<Transaction<'a>, &'a mut Prepared>;

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

    /// A transaction at the server's default isolation (read committed).
    pub(super) fn transaction(&mut self) -> Result<SessionTransaction<'_>, postgres::Error> {
        Ok(Cached {
            client: self.client.transaction()?,
            prepared: &mut self.prepared,
        })
    }
}

impl SessionTransaction<'_> {
    pub(super) fn commit(self) -> Result<(), postgres::Error> {
        self.client.commit()
    }
}

impl<C: GenericClient, P: BorrowMut<Prepared>> Cached<C, P> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        let prepared = self.prepared.borrow_mut();
        if let Some(statement) = prepared.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        prepared.0.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    pub(super) fn execute(&mut self, sql: &str, params: Params) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }

    pub(super) fn query(&mut self, sql: &str, params: Params) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: Params,
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params)
    }

    pub(super) fn query_one(&mut self, sql: &str, params: Params) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_one(&statement, params)
    }
}

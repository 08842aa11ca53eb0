//! Tollgate's revocation state: what ends access before a token expires, shared by the writer
//! (the token service and the admin CLI, through the service's port and its DynamoDB adapter)
//! and the reader (the authorizer). `entry` is what one revocation is and how it is stored;
//! `state` answers whether a token is refused; with the `reader` feature, `feed` keeps an
//! instance's state within its freshness bound and `dynamo` reads the table without the AWS SDK.

pub mod entry;
pub mod state;

#[cfg(feature = "reader")]
pub mod dynamo;
#[cfg(feature = "reader")]
pub mod feed;

pub use entry::{Entry, Key};
pub use state::{Facts, Refusal, Revoked};

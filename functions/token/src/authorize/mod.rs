//! `GET` and `POST /authorize`: the sign-in page of the authorization code flow, as HTTP.

pub mod seal;

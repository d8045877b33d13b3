//! Producers: their records and representatives, their answers and commitments, members' trust ratings.

pub mod producer;
pub mod producer_voice;
pub mod rating;
pub mod response_duty;

//! The delivery part's rules, and its closed sets stored as their stable strings.

use super::*;
use crate::store::assert_round_trips;

#[test]
fn backoff_doubles_from_one_second_and_stops_at_a_minute() {
    assert_eq!(backoff(1), Duration::from_secs(1));
    assert_eq!(backoff(2), Duration::from_secs(2));
    assert_eq!(backoff(4), Duration::from_secs(8));
    assert_eq!(backoff(50), Duration::from_secs(60));
}

crate::both_backends! {
    async fn every_delivery_channel_round_trips_through_the_database_as_its_stable_string(store) {
        assert_round_trips(&store, Channel::ALL).await;
        assert_eq!(Channel::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["webex", "sms", "voice"]);
    }

    async fn every_delivery_status_round_trips_through_the_database_as_its_stable_string(store) {
        assert_round_trips(&store, DeliveryStatus::ALL).await;
        assert_eq!(DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["queued", "sending", "sent", "failed", "unknown"]);
    }
}

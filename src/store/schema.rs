//! The one schema of both backends; `migrations/sqlite` and `migrations/postgresql` create it.

diesel::table! {
    /// One row per accepted bundle.
    bundles (sequence) {
        sequence -> BigInt,
        payload_hash -> Text,
        dataset -> Text,
        key_id -> Text,
        record_count -> BigInt,
        envelope -> Binary,
        imported_at -> Text,
    }
}

diesel::table! {
    /// One row per record of an accepted bundle.
    records (sequence, leaf_index) {
        sequence -> BigInt,
        leaf_index -> BigInt,
        dataset -> Text,
        code -> Text,
        decision_number -> Nullable<Text>,
        year -> Nullable<Integer>,
        name -> Text,
        county -> Nullable<Text>,
        grade -> Nullable<Text>,
        risk -> Nullable<Text>,
        record -> Text,
    }
}

diesel::joinable!(records -> bundles (sequence));
diesel::allow_tables_to_appear_in_same_query!(bundles, records);

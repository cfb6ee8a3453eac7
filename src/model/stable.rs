//! Closed sets stored as stable strings: `stable_strings!` gives an enum one `as_str`, one
//! `FromStr`, serde as that string and (with the `server` feature) the sqlx encoding as that
//! string, so the database, the wire and the code can never spell a variant two ways.

use std::fmt;

/// A stored or submitted string that names no variant of a closed set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// What the set is called ("audit action", "delivery channel" …), for the message.
    pub set: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}: {:?}", self.set, self.value)
    }
}

impl std::error::Error for UnknownValue {}

/// `stable_strings! { /// doc \n pub enum Name("what it is") { Variant = "stable.string", … } }`
#[macro_export]
macro_rules! stable_strings {
    ($(#[$meta:meta])* $vis:vis enum $name:ident($set:literal) { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable string: what the database, the wire and the logs hold.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::stable::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::model::stable::UnknownValue { set: $set, value: other.to_string() }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }

        $crate::stable_strings_sql!($name);
    };
}

/// The sqlx side of `stable_strings!`: encoded and decoded as text, for any backend whose
/// `&str` is.
#[cfg(feature = "server")]
#[macro_export]
#[doc(hidden)]
macro_rules! stable_strings_sql {
    ($name:ident) => {
        impl<DB: ::sqlx::Database> ::sqlx::Type<DB> for $name
        where
            for<'a> &'a str: ::sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <&str as ::sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <&str as ::sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: ::sqlx::Database> ::sqlx::Encode<'q, DB> for $name
        where
            &'q str: ::sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as ::sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                let text: &'q str = self.as_str();
                <&str as ::sqlx::Encode<'q, DB>>::encode_by_ref(&text, buf)
            }
        }

        impl<'r, DB: ::sqlx::Database> ::sqlx::Decode<'r, DB> for $name
        where
            &'r str: ::sqlx::Decode<'r, DB>,
        {
            fn decode(value: <DB as ::sqlx::Database>::ValueRef<'r>) -> Result<Self, ::sqlx::error::BoxDynError> {
                let text = <&str as ::sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}

/// Without the `server` feature (the browser build) there is no database side.
#[cfg(not(feature = "server"))]
#[macro_export]
#[doc(hidden)]
macro_rules! stable_strings_sql {
    ($name:ident) => {};
}

#[cfg(test)]
mod tests {
    crate::stable_strings! {
        /// A set for the tests.
        enum Colour("colour") { Red = "red", DarkBlue = "dark.blue" }
    }

    #[test]
    fn every_variant_reads_back_from_its_string_and_unknown_strings_name_the_set() {
        for c in Colour::ALL {
            assert_eq!(c.as_str().parse::<Colour>().unwrap(), *c);
            assert_eq!(serde_json::from_str::<Colour>(&serde_json::to_string(c).unwrap()).unwrap(), *c);
        }
        assert_eq!(serde_json::to_string(&Colour::DarkBlue).unwrap(), "\"dark.blue\"");
        let err = "green".parse::<Colour>().unwrap_err();
        assert_eq!(err.to_string(), "unknown colour: \"green\"");
    }
}

pub(super) const PLACEHOLDER: () = ();

package sealimg

// AlignFont returns font data (a TrueType/OpenType font or collection) whose
// tables lie on four-byte boundaries, as golang.org/x/image/font/sfnt
// requires: uming.ttc, the default font, does not (see DefaultFontPath). Data
// that is already aligned is returned as it is; data whose table directory
// does not fit in it is an error.
func AlignFont(data []byte) ([]byte, error) { return realign(data) }

package sealimg_test

import (
	"errors"
	"fmt"

	"github.com/eseal/eseal/sealimg"
)

func Example() {
	r, err := sealimg.New(sealimg.Options{}) // uming.ttc at 600 dpi
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := r.Draw(sealimg.Seal{Kind: sealimg.Contract, Name: "海南椰风数字科技有限公司", Code: "4601060054321"})
	if err != nil {
		fmt.Println(err)
		return
	}
	w, h := d.Size()
	fmt.Println(w, h, "pixels")

	_, err = r.PNG(sealimg.Seal{Kind: sealimg.Official, Name: "海南😀公司"})
	var fe *sealimg.FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field)
	}
	fmt.Println(err)
	// Output:
	// 969 969 pixels
	// name
	// sealimg: name: characters not in the font AR PL UMing CN: "😀" (U+1F600)
}

package regaldouble

import "testing"

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "+15515557212", want: "+*********12"},
		{in: "5515557212", want: "********12"},
		{in: "(551) 555-7212", want: "************12"},
		{in: "+1", want: "+1"},
		{in: "12", want: "12"},
		{in: "", want: ""},
		{in: "not-a-phone", want: "***********"},
		{in: "+44 20 7946 0018 ext", want: "+*************18****"},
	}
	for _, tt := range tests {
		if got := maskPhone(tt.in); got != tt.want {
			t.Errorf("maskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

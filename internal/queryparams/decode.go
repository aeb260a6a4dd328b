// Package queryparams reads options structs (pods/log, exec, attach,
// port-forward, proxy) from URL query parameters, for the API server and
// the node agent alike.
package queryparams

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var timeType = reflect.TypeOf(metav1.Time{})

// Decode fills the fields of an options struct (a pointer) from query
// parameters named by the fields' json tags, with kube's rules: a boolean is
// true unless its value is "0", "false" or "no"; numbers must parse; times
// are RFC 3339; a repeated parameter fills a slice.
func Decode(values url.Values, into interface{}) error {
	v := reflect.ValueOf(into).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue // TypeMeta and untagged fields
		}
		raw, ok := values[name]
		if !ok || len(raw) == 0 {
			continue
		}
		if err := setField(v.Field(i), raw); err != nil {
			return fmt.Errorf("query parameter %q: %w", name, err)
		}
	}
	return nil
}

func setField(field reflect.Value, raw []string) error {
	if field.Kind() == reflect.Pointer {
		elem := reflect.New(field.Type().Elem())
		if err := setField(elem.Elem(), raw); err != nil {
			return err
		}
		field.Set(elem)
		return nil
	}
	if field.Type() == timeType {
		var t metav1.Time
		if err := t.UnmarshalQueryParameter(raw[0]); err != nil {
			return fmt.Errorf("not an RFC 3339 time: %q", raw[0])
		}
		field.Set(reflect.ValueOf(t))
		return nil
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(raw[0])
	case reflect.Bool:
		s := raw[0]
		field.SetBool(!(s == "0" || strings.EqualFold(s, "false") || strings.EqualFold(s, "no")))
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(raw[0], 10, field.Type().Bits())
		if err != nil {
			return fmt.Errorf("not an integer: %q", raw[0])
		}
		field.SetInt(n)
	case reflect.Slice:
		out := reflect.MakeSlice(field.Type(), len(raw), len(raw))
		for i, r := range raw {
			if err := setField(out.Index(i), []string{r}); err != nil {
				return err
			}
		}
		field.Set(out)
	default:
		return fmt.Errorf("unsupported field type %s", field.Type())
	}
	return nil
}

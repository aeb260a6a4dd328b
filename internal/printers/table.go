// Package printers turns stored objects into the metav1.Table that
// `kubectl get` shows, with the columns and cell values kube-apiserver
// produces. Rows always carry the wide (-o wide) cells; kubectl hides the
// columns of priority 1 unless asked.
package printers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apiserver/pkg/registry/rest"
)

// table converts objects of type T with one row function.
type table[T runtime.Object] struct {
	columns []metav1.TableColumnDefinition
	row     func(obj T, now time.Time) metav1.TableRow
}

func newTable[T runtime.Object](columns []metav1.TableColumnDefinition, cells func(obj T, now time.Time) []any) rest.TableConvertor {
	return table[T]{columns: columns, row: func(obj T, now time.Time) metav1.TableRow {
		return metav1.TableRow{Cells: cells(obj, now)}
	}}
}

func (t table[T]) ConvertToTable(_ context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	now := time.Now()
	out := &metav1.Table{}
	if opts, ok := tableOptions.(*metav1.TableOptions); !ok || !opts.NoHeaders {
		out.ColumnDefinitions = t.columns
	}
	add := func(obj runtime.Object) error {
		typed, ok := obj.(T)
		if !ok {
			return fmt.Errorf("printers: cannot show %T in a table of %T", obj, *new(T))
		}
		row := t.row(typed, now)
		row.Object = runtime.RawExtension{Object: obj}
		out.Rows = append(out.Rows, row)
		return nil
	}
	if meta.IsListType(object) {
		items, err := meta.ExtractList(object)
		if err != nil {
			return nil, fmt.Errorf("printers: %w", err)
		}
		out.Rows = make([]metav1.TableRow, 0, len(items))
		for _, item := range items {
			if err := add(item); err != nil {
				return nil, err
			}
		}
		if l, err := meta.ListAccessor(object); err == nil {
			out.ResourceVersion, out.Continue, out.RemainingItemCount = l.GetResourceVersion(), l.GetContinue(), l.GetRemainingItemCount()
		}
		return out, nil
	}
	if err := add(object); err != nil {
		return nil, err
	}
	if m, err := meta.Accessor(object); err == nil {
		out.ResourceVersion = m.GetResourceVersion()
	}
	return out, nil
}

var objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()

func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
}

func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}
}

func column(name, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: "string", Description: description}
}

func wideColumn(name, description string) metav1.TableColumnDefinition {
	c := column(name, description)
	c.Priority = 1
	return c
}

// age is how kubectl shows a timestamp: "5m", "3h2m", "<unknown>".
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

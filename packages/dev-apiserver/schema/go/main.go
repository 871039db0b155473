// Prints, as JSON, the struct layout of the Go types behind the resources the development API
// server serves: for each struct (named like its OpenAPI definition), its JSON fields in
// declaration order (the order Go encodes them in), each with whether it is a pointer and whether
// it has omitempty or omitzero. Inlined structs are flattened.
package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type field struct {
	Name      string `json:"name"`
	Pointer   bool   `json:"pointer,omitempty"`
	OmitEmpty bool   `json:"omitempty,omitempty"`
	OmitZero  bool   `json:"omitzero,omitempty"`
	Go        string `json:"go"`
}

var roots = []any{
	corev1.Namespace{}, corev1.Service{}, corev1.Endpoints{}, corev1.ConfigMap{}, corev1.Secret{},
	corev1.Node{}, corev1.Pod{}, corev1.Event{}, discoveryv1.EndpointSlice{}, networkingv1.Ingress{},
	networkingv1.IngressClass{}, coordinationv1.Lease{}, eventsv1.Event{}, metav1.Status{},
}

// definitionName turns k8s.io/api/core/v1.Service into io.k8s.api.core.v1.Service.
func definitionName(t reflect.Type) string {
	path := t.PkgPath()
	host, rest, _ := strings.Cut(path, "/")
	labels := strings.Split(host, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".") + "." + strings.ReplaceAll(rest, "/", ".") + "." + t.Name()
}

func main() {
	out := map[string][]field{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		name := definitionName(t)
		if _, seen := out[name]; seen {
			return
		}
		out[name] = nil
		var collect func(t reflect.Type)
		collect = func(t reflect.Type) {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" || !f.IsExported() {
					continue
				}
				jsonName, options, _ := strings.Cut(tag, ",")
				if f.Anonymous && jsonName == "" && strings.Contains(options, "inline") {
					collect(f.Type)
					continue
				}
				if jsonName == "" {
					jsonName = f.Name
				}
				out[name] = append(out[name], field{
					Name:      jsonName,
					Pointer:   f.Type.Kind() == reflect.Pointer,
					OmitEmpty: strings.Contains(","+options+",", ",omitempty,"),
					OmitZero:  strings.Contains(","+options+",", ",omitzero,"),
					Go:        f.Type.String(),
				})
				visit(f.Type)
			}
		}
		collect(t)
	}
	for _, r := range roots {
		visit(reflect.TypeOf(r))
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", " ")
	if err := encoder.Encode(out); err != nil {
		panic(err)
	}
}

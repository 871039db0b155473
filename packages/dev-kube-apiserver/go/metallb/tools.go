//go:build tools

// Keeps MetalLB's two main packages in this module's build list, so `go mod tidy` keeps their
// dependencies in go.mod and go.sum; the benchmark builds them by import path.
package tools

import (
	_ "go.universe.tf/metallb/controller"
	_ "go.universe.tf/metallb/speaker"
)

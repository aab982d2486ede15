// Command packer-plugin-opsdeck is opsdeck's Packer plugin: the
// opsdeck-image data source and the opsdeck-promote post-processor.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"
	"github.com/hashicorp/packer-plugin-sdk/version"

	"github.com/opsdeck/opsdeck/images/packer/datasource/image"
	"github.com/opsdeck/opsdeck/images/packer/postprocessor/promote"
)

// Version of the plugin (what `packer plugins installed` shows).
var Version = version.InitializePluginVersion("0.1.0", "")

func main() {
	pps := plugin.NewSet()
	pps.RegisterDatasource("image", new(image.Datasource))
	pps.RegisterPostProcessor("promote", new(promote.PostProcessor))
	pps.SetVersion(Version)
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

package bake

import (
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/images/recipe"
	"github.com/opsdeck/opsdeck/ops/plan"
	"github.com/opsdeck/opsdeck/profiles"
)

// PublishFor is where r publishes, and one plan per target account for
// their guards (publishing writes the channel parameter in each).
func PublishFor(cfg *profiles.Config, r *recipe.Recipe, build *profiles.Account) (*Publish, []plan.Plan, error) {
	accts, err := cfg.Select(r.Distribution.Select)
	if err != nil {
		return nil, nil, err
	}
	channel := r.Distribution.Channels[0]
	pub := &Publish{Channel: channel, BuildAccount: build.ID}
	var plans []plan.Plan
	for _, a := range accts {
		role, err := cfg.Role(cfg.DefaultRole(a))
		if err != nil {
			return nil, nil, err
		}
		if a.ID != build.ID {
			if pub.TargetRole != "" && pub.TargetRole != role.Name {
				return nil, nil, fmt.Errorf("distribution %q mixes roles %s and %s: the post-processor assumes one role name in every account", r.Distribution.Select, pub.TargetRole, role.Name)
			}
			pub.TargetRole = role.Name
		}
		for _, region := range r.Distribution.Regions {
			pub.Targets = append(pub.Targets, PublishTarget{AccountID: a.ID, AccountName: a.Name, Region: region})
		}
		p := plan.New("images.publish", a, strings.Join(r.Distribution.Regions, ","), cfg.DefaultRole(a), cfg.Operator.Name, "",
			[]string{r.Name + "@" + channel}, map[string]string{"channel": channel, "recipe_hash": r.Hash})
		p.Steps = []string{"share the new image with " + a.Name + " and write " + "/opsdeck/images/" + r.Name + "/" + channel + " there"}
		plans = append(plans, p)
	}
	return pub, plans, nil
}

// Package emulator runs moto_server, the AWS emulator opsdeck is developed
// and demonstrated against, on a free 127.0.0.1 port in its own process
// group, and seeds it with a realistic demo estate: customers × test/qa/prod
// plus shared-services and DR accounts, each with CloudFormation stacks,
// tagged jumpbox and app instances, an RDS instance with snapshots, EBS
// snapshots and golden-image channel parameters.
//
// `opsdeck demo`, the tests and the benchmarks all get their emulator here;
// nothing in opsdeck ever talks to real AWS in a test.
package emulator

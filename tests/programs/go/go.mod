module oxv.test/gocheck

go 1.19

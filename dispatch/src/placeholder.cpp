namespace seesaw {}
